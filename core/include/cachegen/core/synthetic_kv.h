// A documented synthetic KV generator, used until real KV comes from models/ and kept for tests.
//
// For each (layer, kind, channel) the values follow x_t = mean_c + scale_c * z_t, where z_t is a
// stationary AR(1) process with lag-1 correlation `token_correlation` (token-wise locality, the
// paper's insight 1). Channel scales are log-normal; keys get a few outlier channels with large
// means (as real keys do), and deeper layers get larger scales. The channel statistics play the
// role of a model's weights and depend on `model_seed` only; the token process plays the role
// of the context and depends on `seed`. So two contexts of one "model" share per-channel
// distributions, as real KV caches of one model do (what offline probability profiles rely on).
#pragma once

#include <cstdint>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct SyntheticKVSpec {
  KVShape shape{4, 256, 2, 64};
  DType dtype = DType::kF16;
  uint64_t seed = 1;        // the context
  uint64_t model_seed = 1;  // the per-channel statistics
  // Lag-1 correlation along tokens. 0.8 makes token-to-token deltas 2.5x less variable than the
  // values, inside the 2.4-2.9x the CacheGen paper reports for real KV caches.
  double token_correlation = 0.8;
  double outlier_fraction = 0.02;  // fraction of key channels with a large mean
};

KVCache make_synthetic_kv(const SyntheticKVSpec& spec);

}  // namespace cachegen
