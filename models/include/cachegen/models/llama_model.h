// A Llama-family decoder on libtorch (Llama 2/3, Mistral, Qwen2): RMSNorm, RoPE (with Llama-3
// scaling), grouped-query attention, SwiGLU, optional QKV bias, tied or untied embeddings.
// Loads a Hugging Face checkpoint directory: config.json and model.safetensors, or shards named
// by model.safetensors.index.json. Runs on CPU or CUDA from the same code, in f32, bf16 or f16.
//
// Attention is causal and computed in query blocks of 128 (keys up to the block's end), so a
// long prefill never materialises a T x T score matrix.
#pragma once

#include <memory>
#include <string>

#include "cachegen/core/language_model.h"
#include "cachegen/models/model_config.h"

namespace cachegen {

struct ModelLoadOptions {
  std::string device = "cpu";  // "cpu" or "cuda"
  std::string dtype = "";      // "", "f32", "bf16", "f16" ("": the checkpoint's torch_dtype)
  int threads = 0;             // CPU threads for libtorch (0 = all cores)
};

class LlamaModel : public LanguageModel {
 public:
  // Throws naming the file, tensor or key at fault (missing or mis-shaped tensors included).
  static std::unique_ptr<LlamaModel> load(const std::string& directory,
                                          const ModelLoadOptions& options = {});
  // Random weights (normal, std 0.02; norms 1): for benchmarks and as a trainer's start.
  static std::unique_ptr<LlamaModel> random(const ModelConfig& config, uint64_t seed,
                                            const ModelLoadOptions& options = {});
  ~LlamaModel() override;
  // Writes config.json and model.safetensors (f32, Hugging Face names) into `directory`.
  void save(const std::string& directory) const;

  const ModelConfig& config() const;
  std::string name() const override;
  int64_t vocab_size() const override;
  KVShape kv_shape(int64_t tokens) const override;
  PrefillResult prefill(const std::vector<int32_t>& tokens, const KVCache* past,
                        bool all_logits) override;
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                int max_new_tokens, int32_t eos) override;
  std::vector<double> log_probs(const std::vector<int32_t>& tokens, const KVCache* past) override;

  // The internals (models/src/llama_impl.h), for the trainer in the same module.
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit LlamaModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachegen
