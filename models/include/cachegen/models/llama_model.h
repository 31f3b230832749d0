// A Llama-family decoder on libtorch (Llama 2/3, Mistral, Qwen2): RMSNorm, RoPE (default,
// linear, dynamic NTK, YaRN, Llama 3), grouped-query attention with optional sliding windows,
// SwiGLU, optional attention and MLP biases, explicit head_dim, tied or untied embeddings. Loads
// a Hugging Face checkpoint directory: config.json (read as transformers 5.17 reads it; see
// model_config.h) and model.safetensors, or shards named by model.safetensors.index.json. Runs
// on CPU or CUDA from the same code, in f32, bf16 or f16.
//
// Attention is causal. The reference path ("blocked", the CPU default) computes it in query
// blocks of 128 (keys up to the block's end), so a long prefill never materialises a T x T score
// matrix, and matches transformers' eager attention. The "fused" path (the CUDA default) calls
// at::scaled_dot_product_attention, which runs FlashAttention-class kernels on a GPU: what a
// serving engine would use, and what GPU timings should measure; it agrees with the blocked path
// up to rounding (language_model_conformance_test, scripts/gpu-check.sh).
//
// Sliding windows (Mistral; Qwen2 with use_sliding_window): a query at position p reads keys
// (p - W, p]. The exported KV still holds every token on every layer, [L, 2, T, Hkv, D], which is
// what the codecs and the streamer carry; the keys a sliding layer no longer reads are simply
// never attended to. transformers' cache keeps only the last W - 1 tokens of those layers; those
// equal ours, and prefill or decoding on top of either gives the same outputs.
//
// Dynamic RoPE: a forward pass over positions [P, P + T) rotates its queries and new keys with
// the frequencies for length max(P + T, max_position_embeddings); keys already in a supplied KV
// keep the frequencies they were made with. That is what transformers computes on a freshly
// loaded model and in any sequence that only grows (prefill, then decoding). transformers' rotary
// module also remembers the longest length it has seen until a sequence shorter than
// max_position_embeddings resets it, so a model that ran a longer sequence before can differ
// there; this decoder keeps no such state. A context prefilled in chunks therefore has a
// different KV than one prefilled in one pass (as in transformers).
#pragma once

#include <memory>
#include <string>

#include "cachegen/core/key_rotation.h"
#include "cachegen/core/language_model.h"
#include "cachegen/models/model_config.h"

namespace cachegen {

struct ModelLoadOptions {
  std::string device = "cpu";      // "cpu" or "cuda"
  std::string dtype = "";          // "", "f32", "bf16", "f16" ("": the checkpoint's torch_dtype)
  int threads = 0;                 // CPU threads for libtorch (0 = all cores)
  std::string attention = "auto";  // "blocked", "fused" or "auto" (fused on CUDA, else blocked)
};

// The rotation a model of `config` applies to the keys it caches (RoPE's frequencies and yarn's
// scaling), for codecs that undo it. Throws for dynamic RoPE, whose frequencies change with the
// sequence length, so that one cached key's rotation is not a function of its position alone.
KeyRotation key_rotation(const ModelConfig& config);

class LlamaModel : public LanguageModel {
 public:
  // Throws naming the file, tensor or key at fault (missing or mis-shaped tensors included).
  static std::unique_ptr<LlamaModel> load(const std::string& directory,
                                          const ModelLoadOptions& options = {});
  // Random weights (normal, std 0.02; norms 1): for benchmarks and as a trainer's start. Drawn
  // on the model's device (a 7B model initialises in seconds on a GPU); the same seed gives the
  // same weights on the same device type.
  static std::unique_ptr<LlamaModel> random(const ModelConfig& config, uint64_t seed,
                                            const ModelLoadOptions& options = {});
  ~LlamaModel() override;
  // Writes config.json and model.safetensors (f32, Hugging Face names) into `directory`.
  void save(const std::string& directory) const;

  const ModelConfig& config() const;
  std::string name() const override;
  int64_t vocab_size() const override;
  KVShape kv_shape(int64_t tokens) const override;
  std::string device() const override;
  int32_t prefill_resident(const std::vector<int32_t>& tokens, const std::vector<ResidentKV>& past,
                           const ResidentKV* out) override;
  PrefillResult prefill(const std::vector<int32_t>& tokens, const KVCache* past, bool all_logits,
                        int64_t first_position = -1) override;
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                int max_new_tokens, int32_t eos,
                                int64_t first_position = -1) override;
  std::vector<double> log_probs(const std::vector<int32_t>& tokens, const KVCache* past,
                                int64_t first_position = -1) override;
  // The blocked attention path's probabilities, summed (language_model.h); any attention setting.
  std::vector<float> attention_received(const std::vector<int32_t>& tokens) override;

  // The internals (models/src/llama_impl.h), for the trainer in the same module.
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit LlamaModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachegen
