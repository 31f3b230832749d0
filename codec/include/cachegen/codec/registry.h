// Codecs by name. A new codec is one file that implements cachegen::Codec plus one line in
// codec/src/registry.cpp. Names: identity, quant, kivi, cachegen.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/codec.h"
#include "cachegen/core/options.h"
#include "cachegen/core/registry.h"

namespace cachegen {

struct CodecContext {
  int threads = 0;                         // 0 = all hardware threads
  std::vector<std::string> profile_paths;  // offline probability profiles available to decode
};

using CodecRegistry = Registry<Codec, Options&, const CodecContext&>;
CodecRegistry& codec_registry();

// Creates a codec and rejects options it did not read.
std::unique_ptr<Codec> make_codec(const std::string& name, Options options,
                                  const CodecContext& context);

// Encodes a cache as back-to-back containers of at most chunk_tokens tokens each
// (chunk_tokens <= 0: one chunk). stats (optional) accumulates over chunks.
std::vector<uint8_t> encode_chunks(const Codec& codec, const KVCache& kv, int64_t chunk_tokens,
                                   EncodeStats* stats);
// Decodes every container of a file and concatenates the chunks; checks they are contiguous.
KVCache decode_file(const std::vector<uint8_t>& bytes, const std::string& source,
                    const CodecContext& context);

}  // namespace cachegen
