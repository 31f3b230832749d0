#include "cachegen/core/token_selection.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "cachegen/core/error.h"

namespace cachegen {

SelectionScope parse_selection_scope(const std::string& name) {
  if (name == "head")
    return SelectionScope::kHead;
  if (name == "layer")
    return SelectionScope::kLayer;
  if (name == "model")
    return SelectionScope::kModel;
  fail("unknown selection scope '", name, "'; valid: head, layer, model");
}

std::string selection_scope_name(SelectionScope scope) {
  return scope == SelectionScope::kHead    ? "head"
         : scope == SelectionScope::kLayer ? "layer"
                                           : "model";
}

namespace {
// The kept tokens of one score row [context_tokens]: the last `recent`, then the best others.
std::vector<int32_t> select_row(const double* score, int64_t tokens, int64_t keep, int64_t recent) {
  const int64_t older = tokens - recent;
  std::vector<int32_t> order(static_cast<size_t>(older));
  std::iota(order.begin(), order.end(), 0);
  const int64_t heavy = keep - recent;
  std::partial_sort(order.begin(), order.begin() + heavy, order.end(), [&](int32_t a, int32_t b) {
    return score[a] != score[b] ? score[a] > score[b] : a < b;
  });
  order.resize(static_cast<size_t>(heavy));
  for (int64_t t = older; t < tokens; ++t)
    order.push_back(static_cast<int32_t>(t));
  std::sort(order.begin(), order.end());
  return order;
}
}  // namespace

KeptTokens h2o_select(const std::vector<float>& scores, int64_t layers, int64_t kv_heads,
                      int64_t context_tokens, int64_t keep, int64_t recent, SelectionScope scope) {
  if (static_cast<int64_t>(scores.size()) != layers * kv_heads * context_tokens) {
    fail("h2o: ", scores.size(), " scores for ", layers, " layers x ", kv_heads, " KV heads x ",
         context_tokens, " tokens");
  }
  if (keep < 1 || keep > context_tokens || recent < 0 || recent > keep)
    fail("h2o: cannot keep ", keep, " of ", context_tokens, " tokens with ", recent, " recent");
  KeptTokens out{layers, kv_heads, context_tokens, keep, {}};
  out.index.resize(static_cast<size_t>(layers * kv_heads * keep));
  // Scores summed over the scope's (layer, head) pairs, in double (order-independent enough:
  // sums of at most a few hundred floats).
  const int64_t groups = scope == SelectionScope::kHead    ? layers * kv_heads
                         : scope == SelectionScope::kLayer ? layers
                                                           : 1;
  const int64_t per_group = layers * kv_heads / groups;
  for (int64_t g = 0; g < groups; ++g) {
    std::vector<double> total(static_cast<size_t>(context_tokens), 0.0);
    for (int64_t m = 0; m < per_group; ++m) {
      const float* row = scores.data() + (g * per_group + m) * context_tokens;
      for (int64_t t = 0; t < context_tokens; ++t)
        total[static_cast<size_t>(t)] += row[t];
    }
    const std::vector<int32_t> kept = select_row(total.data(), context_tokens, keep, recent);
    for (int64_t m = 0; m < per_group; ++m)
      std::copy(kept.begin(), kept.end(), out.index.begin() + (g * per_group + m) * keep);
  }
  return out;
}

KVCache gather_kept(const KVCache& kv, const KeptTokens& kept) {
  const KVShape& s = kv.shape();
  if (s.layers != kept.layers || s.kv_heads != kept.kv_heads || s.tokens != kept.context_tokens) {
    fail("kept tokens of ", kept.layers, " layers x ", kept.kv_heads, " heads x ",
         kept.context_tokens, " tokens do not fit a KV cache ", s.to_string());
  }
  KVShape shape = s;
  shape.tokens = kept.kept;
  KVCache out = KVCache::uninitialized(shape, kv.dtype());
  const size_t head_bytes = static_cast<size_t>(s.head_dim) * kv.element_size();
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t h = 0; h < s.kv_heads; ++h) {
        const int32_t* tokens = kept.of(l, h);
        for (int64_t slot = 0; slot < kept.kept; ++slot) {
          if (tokens[slot] < 0 || tokens[slot] >= s.tokens)
            fail("kept token ", tokens[slot], " outside the context's ", s.tokens, " tokens");
          std::memcpy(out.row(l, kind, slot) + static_cast<size_t>(h) * head_bytes,
                      kv.row(l, kind, tokens[slot]) + static_cast<size_t>(h) * head_bytes,
                      head_bytes);
        }
      }
    }
  }
  return out;
}

}  // namespace cachegen
