// What a streaming request needs, built from names: the store's encodings from
// "NAME=CODEC[:KEY=VALUE;...]" specs, the model from its spec, and the contexts to stream
// (synthetic KV of a model's shape, or a real model's KV of a dataset's context,
// model_context.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/kv_cache.h"
#include "cachegen/core/language_model.h"
#include "cachegen/core/options.h"
#include "cachegen/stream/chunk_store.h"
#include "cachegen/stream/streamer.h"

namespace cachegen {

// Splits "NAME:KEY=VALUE;..." into NAME and its options text.
std::pair<std::string, std::string> split_plugin_spec(const std::string& text);

struct EncodingSpec {
  std::string name;     // what controllers and results call it, e.g. "cg2"
  std::string codec;    // a codec registry name
  std::string options;  // "key=value;..." for the codec
};

// "cg2=cachegen:level=2" -> {cg2, cachegen, level=2}; fails naming the spec when malformed.
EncodingSpec parse_encoding_spec(const std::string& text);
std::string format_encoding_spec(const EncodingSpec& spec);
// The paper's set, best quality first: 8-bit quantization, then CacheGen levels 3, 2, 1.
std::vector<EncodingSpec> default_encodings();
// Creates each encoding's codec (unknown codecs and options fail naming the encoding).
std::vector<StoreEncoding> make_store_encodings(const std::vector<EncodingSpec>& specs,
                                                int threads);

// A model as configs and the command line name it: "synthetic" (no model: KV of a hardware
// profile's shape from the generator), "synthetic:kv=FILE" (no model: a real model's KV from
// FILE, made by `cachegen kv`, tiled to the profile's shape: core/tiled_kv.h), a language model
// "NAME[:KEY=VALUE;...]" (`cachegen list`: builtin, llama:path=DIR, ...), or a checkpoint
// directory, short for llama:path=DIR.
struct ModelSpec {
  std::string name;     // "synthetic" or a language model registry name
  std::string options;  // "key=value;..."
  bool synthetic() const { return name == "synthetic"; }
};
ModelSpec parse_model_spec(const std::string& text);
// Checks a spec against the model's registry entry (or the synthetic options) without loading it.
void check_model_spec(const ModelSpec& spec);
// The options of "synthetic": kv=FILE.
const OptionSchema& synthetic_model_options();
// Loads the model; it must come with a tokenizer (datasets need one).
std::unique_ptr<LanguageModel> load_model(const ModelSpec& spec, int threads);

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
// The context of a synthetic spec: the generator's KV, or with kv=FILE the file's KV tiled to
// `shape` in f16, starting at source token (seed - 1) x 1536 (each context another
// rotation of the one real context: a sample of one text, not of many).
StreamContext synthetic_context(const ModelSpec& spec, const KVShape& shape, uint64_t seed,
                                int64_t question_tokens);

}  // namespace cachegen
