// Helpers shared by the codec tests.
#pragma once

#include <cstring>
#include <random>
#include <vector>

#include "cachegen/core/kv_cache.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {

inline KVCache small_kv(int64_t layers, int64_t tokens, int64_t heads, int64_t dim,
                        DType dtype = DType::kF16, uint64_t seed = 1) {
  SyntheticKVSpec spec;
  spec.shape = {layers, tokens, heads, dim};
  spec.dtype = dtype;
  spec.seed = seed;
  return make_synthetic_kv(spec);
}

inline bool same_bytes(const KVCache& a, const KVCache& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.data(), b.data(), a.byte_size()) == 0;
}

// Relative L2 error of b against a over one kind (0 key, 1 value).
inline double relative_l2(const KVCache& a, const KVCache& b, int kind) {
  double num = 0, den = 0;
  const KVShape& s = a.shape();
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int64_t t = 0; t < s.tokens; ++t) {
      for (int64_t c = 0; c < s.channels(); ++c) {
        double x = a.at(l, kind, t, c), y = b.at(l, kind, t, c);
        num += (x - y) * (x - y);
        den += x * x;
      }
    }
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace cachegen
