// The offline side of streaming (CacheGen §5.3): a context's KV cache split into chunks of
// consecutive tokens, each chunk encoded with every configured encoding (a named codec
// configuration, e.g. "cg2" = cachegen at level 2), plus its text so that it can be recomputed
// instead. Encodings are listed best quality first; a chunk's encoding decodes independently
// of its other chunks, so encodings can be mixed across chunks.
//
// Words: an *encoding* is a store entry (by name); a *choice* is what a controller picks for one
// chunk: an encoding's index in the store, or kTextChoice; a cachegen *level* (1-3) is only
// that codec's own option.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/codec.h"
#include "cachegen/core/kv_cache.h"

namespace cachegen {

// A chunk's choice when its text is sent and its KV recomputed (other choices are encoding
// indices, >= 0).
constexpr int kTextChoice = -1;

struct TokenRange {
  int64_t begin = 0;
  int64_t count = 0;
};

// [0, tokens) in chunks of chunk_tokens; the last chunk holds the remainder.
std::vector<TokenRange> split_into_chunks(int64_t tokens, int64_t chunk_tokens);

// One encoding: a name (what configs, controllers and results call it) and the codec, with its
// options, that encodes and decodes it.
struct StoreEncoding {
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
  std::vector<std::vector<uint8_t>> bitstreams;  // [encoding]: one codec container each
  std::vector<double> encode_s;                  // [encoding] wall seconds, this machine
  std::vector<double> decode_s;                  // [encoding] wall seconds of one decode, here
  std::vector<double> relative_error;            // [encoding] ||decoded - original|| / ||original||
  double squared_norm = 0;                       // ||original||^2, to combine chunk errors
};

class ChunkStore {
 public:
  // Encodes every chunk of `kv` with every encoding (and decodes it once, to measure its time
  // and error). Encoding names must be unique and non-empty.
  static ChunkStore build(const KVCache& kv, std::vector<StoreEncoding> encodings,
                          int64_t chunk_tokens, const ContextText& text);

  const std::vector<StoreEncoding>& encodings() const { return encodings_; }
  const std::vector<StoredChunk>& chunks() const { return chunks_; }
  int64_t chunk_count() const { return static_cast<int64_t>(chunks_.size()); }
  // The index of the encoding called `name`; a missing name fails and lists the store's.
  int encoding_index(const std::string& name) const;
  std::string encoding_names() const;  // "a, b, c"
  // The original KV (quality references; recompute when no model is attached).
  const KVCache& reference() const { return reference_; }
  int64_t context_tokens() const { return reference_.shape().tokens; }

  // Decodes chunk `chunk` of encoding index `encoding`, checking that it has the chunk's shape.
  KVCache decode(int64_t chunk, int encoding) const;
  // Decodes it straight into its tokens of `context` (the reference's shape, any dtype).
  void decode_into(int64_t chunk, int encoding, KVCache& context) const;
  // The relative error of the whole context's KV when chunk i is loaded as choices[i]
  // (kTextChoice: recomputed, exact), from the errors measured when the store was built;
  // equal to kv_relative_error() of the assembled KV up to rounding.
  double relative_error(const std::vector<int>& choices) const;

 private:
  std::vector<StoreEncoding> encodings_;
  std::vector<StoredChunk> chunks_;
  KVCache reference_;
};

// The context's token ids, chunk after chunk; fails if the store has none.
std::vector<int32_t> context_tokens(const ChunkStore& store);

}  // namespace cachegen
