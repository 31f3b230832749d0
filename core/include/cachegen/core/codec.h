// The Codec interface: turns one chunk of KV cache into a self-describing byte container and back.
// Implementations live in codec/src/codecs/, one file each, and register themselves in
// codec_registry() with the options they take.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/kv_cache.h"
#include "cachegen/core/registry.h"

namespace cachegen {

// What an encode measured about its entropy coding (zero for codecs without one).
struct EncodeStats {
  double payload_bits = 0;    // entropy-coded bytes x 8, including coder flush bytes
  double model_bits = 0;      // sum over symbols of -log2 p(symbol) under the codec's own tables
  double empirical_bits = 0;  // sum over streams of the symbols' empirical (histogram) entropy
  int64_t symbols = 0;
};

// Where a chunk sits in its context: tokens [token_offset, token_offset + chunk tokens) of
// context_tokens (a negative context_tokens means the chunk is the whole context).
struct ChunkPosition {
  int64_t token_offset = 0;
  int64_t context_tokens = -1;
};

class Codec {
 public:
  virtual ~Codec() = default;

  virtual std::string name() const = 0;
  // Every parameter, canonical "key=value;..." form; the container stores it so that the decoder
  // can rebuild an identical codec.
  virtual std::string params() const = 0;

  // Encodes one chunk at `position` in its context. `stats` (may be null) accumulates.
  virtual std::vector<uint8_t> encode(const KVCache& chunk, const ChunkPosition& position,
                                      EncodeStats* stats) const = 0;
  // Decodes the payload sections of a container written by encode() with identical params.
  // `container` spans exactly one container; `file_offset` is its offset in the file (errors).
  virtual KVCache decode(const uint8_t* container, size_t size, uint64_t file_offset) const = 0;
  // Decodes straight into tokens [token_offset, token_offset + chunk tokens) of `dst` (a whole
  // context's cache with the chunk's layers and channels, any dtype: values are rounded to it),
  // so that a loader assembles a context without a copy per chunk. The default decodes and
  // copies; codecs override it to write in place. Throws if the chunk does not fit.
  virtual void decode_into(const uint8_t* container, size_t size, uint64_t file_offset,
                           KVCache& dst, int64_t token_offset) const;
};

// Throws unless a chunk of `chunk` shape fits `dst` at token_offset (same layers, heads and head
// size; inside its tokens); `what` names the chunk in the message.
void check_decode_destination(const KVShape& chunk, const KVCache& dst, int64_t token_offset,
                              const std::string& what);
// Copies every row of `chunk` into `dst` at token_offset, rounding to dst's dtype.
void copy_rows_into(const KVCache& chunk, KVCache& dst, int64_t token_offset);

// What every codec may use besides its options.
struct CodecContext {
  int threads = 0;                         // 0 = all hardware threads
  std::vector<std::string> profile_paths;  // offline probability profiles available to decode
};

using CodecRegistry = Registry<Codec, const CodecContext&>;
CodecRegistry& codec_registry();

}  // namespace cachegen
