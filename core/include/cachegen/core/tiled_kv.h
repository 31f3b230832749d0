// A real model's KV cache laid out in another model's shape, for paper-scale projections whose
// sizes and errors should come from real KV statistics rather than from the synthetic generator:
// every element of the target is a copy of one element of the source, so each channel keeps its
// real distribution and each token row its real absmax. Layers map by depth (target layer l of L
// takes source layer floor(l * L_src / L)), channels by repetition (target channel c, counted
// over heads x head_dim, takes source channel c mod C_src), tokens by a cyclic shift (target
// token t takes source token (t + token_offset) mod T_src).
//
// What this keeps and what it does not: per-element quantization error and the codecs' per-channel
// statistics are the source model's; quantities that depend on the channel count (one scale per
// token row over all its channels) scale with the target's shape, as they would on that model.
// Correlations across the repeated channels are exact copies, which no real model has; the
// per-(layer, channel) codecs of this project do not exploit them.
#pragma once

#include <cstdint>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

// Throws if `source` is empty or `target` has a zero dimension.
KVCache tile_kv(const KVCache& source, const KVShape& target, int64_t token_offset, DType dtype);

}  // namespace cachegen
