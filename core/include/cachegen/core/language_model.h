// The LanguageModel interface: what the streaming engine and the experiments need from an LLM,
// in plain types (implementations in models/ use libtorch). Token ids are int32. A KV cache
// passed in as `past` holds the context already processed (core's layout, any dtype: it is
// converted to the model's); KV caches returned hold past + the new tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct PrefillResult {
  KVCache kv;                 // past + the new tokens, in the model's dtype
  std::vector<float> logits;  // [positions, vocab]: the last position, or all with all_logits
  int64_t positions = 0;
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab_size() const = 0;
  // KV shape for `tokens` tokens (layers, kv_heads, head_dim).
  virtual KVShape kv_shape(int64_t tokens) const = 0;

  // Runs `tokens` on top of `past` (nullptr: an empty context).
  virtual PrefillResult prefill(const std::vector<int32_t>& tokens, const KVCache* past,
                                bool all_logits) = 0;
  // Greedy decoding: feeds `prompt` on top of `past`, then up to max_new_tokens argmax tokens,
  // stopping after `eos` (if >= 0). Returns the generated tokens.
  virtual std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const KVCache* past,
                                        int max_new_tokens, int32_t eos) = 0;
  // log p(tokens[i] | past, tokens[0..i)) for i = 1 .. T-1: one value per predicted token, for
  // perplexity.
  virtual std::vector<double> log_probs(const std::vector<int32_t>& tokens,
                                        const KVCache* past) = 0;
};

}  // namespace cachegen
