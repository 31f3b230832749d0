// The offline side of streaming (CacheGen §5.3): a context's KV cache split into chunks of
// consecutive tokens, each chunk encoded at every configured level, plus its text so that it
// can be recomputed instead. Levels are listed best quality first; a chunk's level k decodes
// independently of its other chunks, so levels can be mixed across chunks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/codec.h"
#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct TokenRange {
  int64_t begin = 0;
  int64_t count = 0;
};

// [0, tokens) in chunks of chunk_tokens; the last chunk holds the remainder.
std::vector<TokenRange> split_into_chunks(int64_t tokens, int64_t chunk_tokens);

// One encoding level: a name (what configs and controllers call it) and the codec that encodes
// and decodes it.
struct StoreLevel {
  std::string name;
  std::shared_ptr<const Codec> codec;
};

// What the store knows of the context's text, all optional.
struct ContextText {
  std::vector<int32_t> tokens;             // one id per KV token (recompute needs them)
  std::vector<uint64_t> chunk_text_bytes;  // [chunk] bytes of its text; empty: 4 per token
  std::vector<double> chunk_prefill_s;     // [chunk] measured prefill on top of earlier chunks
};

struct StoredChunk {
  TokenRange range;
  std::vector<int32_t> tokens;                   // the chunk's token ids (recompute); may be empty
  uint64_t text_bytes = 0;                       // bytes sent to recompute it (its text)
  double prefill_s = 0;                          // measured prefill when built; 0 if unknown
  std::vector<std::vector<uint8_t>> bitstreams;  // [level]: one codec container each
  std::vector<double> encode_s;                  // [level] wall seconds, this machine
  std::vector<double> decode_s;                  // [level] wall seconds of one decode, this machine
  std::vector<double> relative_error;            // [level] ||decoded - original|| / ||original||
  double squared_norm = 0;                       // ||original||^2, to combine chunk errors
};

class ChunkStore {
 public:
  // Encodes every chunk of `kv` at every level (and decodes it once, to measure its time and
  // error). Level names must be unique and non-empty.
  static ChunkStore build(const KVCache& kv, std::vector<StoreLevel> levels, int64_t chunk_tokens,
                          const ContextText& text);

  const std::vector<StoreLevel>& levels() const { return levels_; }
  const std::vector<StoredChunk>& chunks() const { return chunks_; }
  int64_t chunk_count() const { return static_cast<int64_t>(chunks_.size()); }
  // The index of the level called `name`; a missing name fails and lists the store's levels.
  int level_index(const std::string& name) const;
  std::string level_names() const;  // "a, b, c"
  // The original KV (quality references; recompute when no model is attached).
  const KVCache& reference() const { return reference_; }
  int64_t context_tokens() const { return reference_.shape().tokens; }

  // Decodes chunk `chunk` at `level`, checking that it has the chunk's shape.
  KVCache decode(int64_t chunk, int level) const;
  // The relative error of the whole context's KV when chunk i is loaded at levels[i]
  // (kTextLevel = -1: recomputed, exact), from the errors measured when the store was built;
  // equal to kv_relative_error() of the assembled KV up to rounding.
  double relative_error(const std::vector<int>& levels) const;

 private:
  std::vector<StoreLevel> levels_;
  std::vector<StoredChunk> chunks_;
  KVCache reference_;
};

}  // namespace cachegen
