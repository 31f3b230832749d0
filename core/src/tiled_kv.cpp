#include "cachegen/core/tiled_kv.h"

#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

KVCache tile_kv(const KVCache& source, const KVShape& target, int64_t token_offset, DType dtype) {
  const KVShape& from = source.shape();
  if (from.elements() == 0)
    fail("tile_kv: the source KV cache ", from.to_string(), " is empty");
  if (target.elements() <= 0)
    fail("tile_kv: the target shape ", target.to_string(), " is empty");
  const int64_t source_channels = from.channels(), channels = target.channels();
  const int64_t offset = ((token_offset % from.tokens) + from.tokens) % from.tokens;
  KVCache out = KVCache::uninitialized(target, dtype);
  std::vector<float> in_row(static_cast<size_t>(source_channels));
  std::vector<float> out_row(static_cast<size_t>(channels));
  for (int64_t layer = 0; layer < target.layers; ++layer) {
    const int64_t source_layer = layer * from.layers / target.layers;
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t token = 0; token < target.tokens; ++token) {
        source.load_row(source_layer, kind, (token + offset) % from.tokens, in_row.data());
        for (int64_t c = 0; c < channels; ++c)
          out_row[static_cast<size_t>(c)] = in_row[static_cast<size_t>(c % source_channels)];
        out.store_row(layer, kind, token, out_row.data());
      }
    }
  }
  return out;
}

}  // namespace cachegen
