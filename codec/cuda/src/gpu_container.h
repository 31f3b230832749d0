// Host-side pieces the GPU codecs share when they turn device results into a container
// (private).
#pragma once

#include <cstdint>
#include <string>

#include "cachegen/codec/container.h"
#include "cachegen/core/codec.h"
#include "cachegen/core/error.h"

namespace cachegen::gpu {

// Throws naming the position of flat element `index` of a [L, 2, T, C] cache of `shape`.
[[noreturn]] inline void fail_non_finite(const std::string& what, uint64_t index,
                                         const KVShape& shape) {
  const uint64_t channels = uint64_t(shape.channels()),
                 per_plane = uint64_t(shape.tokens) * channels;
  fail(what, ": non-finite value at layer ", index / per_plane / 2, ", ",
       kv_kind_name(int(index / per_plane % 2)), ", token ", index % per_plane / channels,
       ", channel ", index % channels);
}

}  // namespace cachegen::gpu
