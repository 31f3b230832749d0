// The LanguageModel interface: what the streaming engine and the experiments need from an LLM,
// in plain types (implementations in models/ use libtorch). Token ids are int32. A KV cache
// passed in as `past` holds the context already processed (core's layout, any dtype: it is
// converted to the model's); KV caches returned hold past + the new tokens. Implementations
// (models/src/language_models/) register themselves in language_model_registry().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/error.h"
#include "cachegen/core/kv_cache.h"
#include "cachegen/core/registry.h"

namespace cachegen {

// Text <-> token ids, as a model's checkpoint defines them.
class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  // Token ids of `text` (UTF-8), without BOS/EOS.
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The token put before a sequence (Llama's BOS), or -1.
  virtual int32_t bos_id() const = 0;
};

struct PrefillResult {
  KVCache kv;                 // past + the new tokens, in the model's dtype
  std::vector<float> logits;  // [positions, vocab]: the last position, or all with all_logits
  int64_t positions = 0;
};

// KV of consecutive tokens held in the memory a model runs in (GPU memory for a model on CUDA,
// host memory for one on the CPU), core's layout: [layers, 2, tokens, channels] of `dtype`. The
// caller owns the memory.
struct ResidentKV {
  KVShape shape;
  DType dtype = DType::kF16;
  void* data = nullptr;
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab_size() const = 0;
  // KV shape for `tokens` tokens (layers, kv_heads, head_dim).
  virtual KVShape kv_shape(int64_t tokens) const = 0;

  // Runs `tokens` on top of `past` (nullptr: an empty context). first_position: the position
  // of tokens[0] (-1: past's token count). A larger one says the past leaves context tokens out
  // (H2O keeps some tokens' KV, RoPE already applied): new tokens take their original
  // positions, and attend to every cached token.
  virtual PrefillResult prefill(const std::vector<int32_t>& tokens, const KVCache* past,
                                bool all_logits, int64_t first_position = -1) = 0;
  // Greedy decoding: feeds `prompt` on top of `past`, then up to max_new_tokens argmax tokens,
  // stopping after `eos` (if >= 0). Returns the generated tokens.
  virtual std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                        int max_new_tokens, int32_t eos,
                                        int64_t first_position = -1) = 0;
  // log p(tokens[i] | past, tokens[0..i)) for i = 1 .. T-1: one value per predicted token, for
  // perplexity.
  virtual std::vector<double> log_probs(const std::vector<int32_t>& tokens, const KVCache* past,
                                        int64_t first_position = -1) = 0;
  // H2O's heavy-hitter score of a prefill of `tokens` (no past): per layer, KV head and token,
  // the attention probability the token's key received, summed over every query and every
  // query head that reads that KV head: [layers, kv_heads, tokens], row-major.
  virtual std::vector<float> attention_received(const std::vector<int32_t>& tokens) {
    (void)tokens;
    fail("language model '", name(), "' cannot report attention scores");
  }
  // Where it runs: "cpu" or "cuda" (ResidentKV memory is that device's).
  virtual std::string device() const { return "cpu"; }
  // Prefill on top of KV that already sits in the memory the model runs in (`past`: pieces in
  // token order, e.g. decoded chunks), as a GPU pipeline needs it: only the token ids go to the
  // device and only the next token's id (greedy, returned) comes back. When `out` is given, the
  // new tokens' KV is written into it (shape kv_shape(tokens.size()), any dtype). Returns after
  // the device has finished, so a wall clock around it times the work.
  virtual int32_t prefill_resident(const std::vector<int32_t>& tokens,
                                   const std::vector<ResidentKV>& past, const ResidentKV* out) {
    (void)tokens, (void)past, (void)out;
    fail("language model '", name(), "' cannot prefill on resident KV");
  }
  // The tokenizer that came with the model (datasets and scoring need one); nullptr if none.
  virtual const TextTokenizer* tokenizer() const { return nullptr; }
};

// Language models by name; the int is the CPU thread count (0: all cores).
using LanguageModelRegistry = Registry<LanguageModel, int>;
LanguageModelRegistry& language_model_registry();

}  // namespace cachegen
