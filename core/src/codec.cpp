#include "cachegen/core/codec.h"

#include <cstring>

#include "cachegen/core/error.h"

namespace cachegen {

void check_decode_destination(const KVShape& chunk, const KVCache& dst, int64_t token_offset,
                              const std::string& what) {
  const KVShape& d = dst.shape();
  if (chunk.layers != d.layers || chunk.kv_heads != d.kv_heads || chunk.head_dim != d.head_dim ||
      token_offset < 0 || token_offset + chunk.tokens > d.tokens) {
    fail(what, " of shape ", chunk.to_string(), " does not fit a destination of shape ",
         d.to_string(), " at token ", token_offset);
  }
}

void copy_rows_into(const KVCache& chunk, KVCache& dst, int64_t token_offset) {
  check_decode_destination(chunk.shape(), dst, token_offset, "decoded chunk");
  const KVShape& s = chunk.shape();
  if (chunk.dtype() == dst.dtype()) {  // each plane's rows are contiguous on both sides
    const size_t bytes = static_cast<size_t>(s.tokens * s.channels()) * chunk.element_size();
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int kind = 0; kind < 2; ++kind) {
        if (bytes)
          std::memcpy(dst.row(l, kind, token_offset), chunk.plane(l, kind), bytes);
      }
    }
    return;
  }
  std::vector<float> row(static_cast<size_t>(s.channels()));
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        chunk.load_row(l, kind, t, row.data());
        dst.store_row(l, kind, token_offset + t, row.data());
      }
    }
  }
}

void Codec::decode_into(const uint8_t* container, size_t size, uint64_t file_offset, KVCache& dst,
                        int64_t token_offset) const {
  copy_rows_into(decode(container, size, file_offset), dst, token_offset);
}

}  // namespace cachegen
