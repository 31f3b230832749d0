// Helpers shared by the built-in codecs (private to codec/src).
#pragma once

#include <string>
#include <vector>

#include "cachegen/codec/container.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/codec.h"
#include "cachegen/core/error.h"

namespace cachegen {

// The header of a chunk of `shape` at `position` (a negative context_tokens: the chunk is the
// whole context).
inline ContainerHeader make_header(const std::string& codec, const std::string& params,
                                   const KVShape& shape, DType dtype,
                                   const ChunkPosition& position) {
  ContainerHeader h;
  h.codec = codec;
  h.params = params;
  h.shape = shape;
  h.dtype = dtype;
  h.token_offset = position.token_offset;
  h.context_tokens =
      position.context_tokens < 0 ? position.token_offset + shape.tokens : position.context_tokens;
  return h;
}

inline ContainerHeader make_header(const Codec& codec, const std::string& params, const KVCache& kv,
                                   const ChunkPosition& position) {
  return make_header(codec.name(), params, kv.shape(), kv.dtype(), position);
}

// Parses and verifies a container and checks it belongs to this codec with these params.
ContainerView open_container(const Codec& codec, const std::string& expected_params,
                             const uint8_t* data, size_t size, uint64_t file_offset);

// Floats stored as `dtype` values (the caller rounded them already).
std::vector<uint8_t> encode_values(const std::vector<float>& values, DType dtype);
// Reads exactly `count` values of `dtype` from a section; throws naming the section if its size
// differs.
std::vector<float> decode_values(const ContainerView& view, uint32_t tag, int64_t count,
                                 DType dtype);

// Upper bound on elements a container may declare: guards allocations against crafted headers.
constexpr int64_t kMaxElements = int64_t{1} << 34;
void check_shape_limits(const ContainerView& view);

}  // namespace cachegen
