// Keeping some context tokens' KV and dropping the rest: H2O (Zhang et al., NeurIPS 2023) keeps
// the "heavy hitters", the tokens whose keys received the most attention during the context's
// prefill (LanguageModel::attention_received), plus the most recent tokens. Every (layer, KV
// head) keeps the same number of tokens, so the kept KV is an ordinary KVCache of that many
// token slots, each (layer, head) holding its own tokens in context order; RoPE is already in
// the keys, so a model attends to them as they are, with later tokens at their original positions
// (LanguageModel::prefill's first_position).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

// Which scores a selection ranks by: each (layer, KV head) its own (H2O's choice: heads attend
// to different tokens), one set per layer (scores summed over its heads), or one set for the
// whole model (summed over layers and heads: plain token dropping).
enum class SelectionScope { kHead, kLayer, kModel };
SelectionScope parse_selection_scope(const std::string& name);  // "head", "layer", "model"
std::string selection_scope_name(SelectionScope scope);

// Kept tokens per (layer, KV head): index[(layer * kv_heads + head) * kept + slot], ascending.
struct KeptTokens {
  int64_t layers = 0, kv_heads = 0, context_tokens = 0, kept = 0;
  std::vector<int32_t> index;
  const int32_t* of(int64_t layer, int64_t head) const {
    return index.data() + (layer * kv_heads + head) * kept;
  }
};

// H2O: of `context_tokens` tokens keep `keep` (1 <= keep <= context_tokens): the last `recent`
// (<= keep) and, among the others, the keep - recent with the highest score (ties: the earlier
// token). scores: [layers, kv_heads, context_tokens] (attention_received).
KeptTokens h2o_select(const std::vector<float>& scores, int64_t layers, int64_t kv_heads,
                      int64_t context_tokens, int64_t keep, int64_t recent, SelectionScope scope);

// The KV of the kept tokens: [layers, 2, kept, kv_heads, head_dim], slot s of (layer, head)
// holding token kept.of(layer, head)[s]'s key and value. Throws if the shapes disagree.
KVCache gather_kept(const KVCache& kv, const KeptTokens& kept);

}  // namespace cachegen
