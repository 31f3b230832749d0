// What a streaming request needs, built from names: the store's encoding levels from
// "NAME=CODEC[:KEY=VALUE;...]" specs, and the contexts to stream (synthetic KV of a model's
// shape, or a real model's KV of a dataset's context, in model_context.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/chunk_store.h"
#include "cachegen/core/kv_cache.h"
#include "cachegen/core/streamer.h"

namespace cachegen {

struct LevelSpec {
  std::string name;     // what controllers and results call it, e.g. "cg2"
  std::string codec;    // a codec registry name
  std::string options;  // "key=value;..." for the codec
};

// "cg2=cachegen:level=2" -> {cg2, cachegen, level=2}; fails naming the spec when malformed.
LevelSpec parse_level_spec(const std::string& text);
std::string format_level_spec(const LevelSpec& spec);
// The paper's set, best quality first: 8-bit quantization, then CacheGen levels 3, 2, 1.
std::vector<LevelSpec> default_levels();
// Creates each level's codec (unknown codecs and options fail naming the level).
std::vector<StoreLevel> make_store_levels(const std::vector<LevelSpec>& specs, int threads);

// A context to stream and the request that follows it.
struct StreamContext {
  KVCache kv;                     // the context's KV, uncompressed
  ContextText text;               // its tokens and per-chunk text facts (may be empty)
  std::vector<int32_t> question;  // the request's question tokens (empty for synthetic)
  int64_t question_tokens = 0;
  std::string answer;  // the expected answer, when the dataset has one
};

// Synthetic KV (core/synthetic_kv.h) of `shape` (tokens included), f16; question of
// `question_tokens` tokens for profile timing.
StreamContext synthetic_context(const KVShape& shape, uint64_t seed, int64_t question_tokens);

}  // namespace cachegen
