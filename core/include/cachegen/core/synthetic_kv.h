// A documented synthetic KV generator, used until real KV comes from models/ and kept for tests.
//
// For each (layer, kind, channel) the values follow x_t = mean_c + scale_c * z_t, where z_t is a
// stationary AR(1) process with lag-1 correlation `token_correlation` (token-wise locality, the
// paper's insight 1). Channel scales are log-normal; keys get a few outlier channels with large
// means (as real keys do), and deeper layers get larger scales. Deterministic in `seed`.
#pragma once

#include <cstdint>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct SyntheticKVSpec {
  KVShape shape{4, 256, 2, 64};
  DType dtype = DType::kF16;
  uint64_t seed = 1;
  double token_correlation = 0.9;  // lag-1 correlation of each channel along tokens
  double outlier_fraction = 0.02;  // fraction of key channels with a large mean
};

KVCache make_synthetic_kv(const SyntheticKVSpec& spec);

}  // namespace cachegen
