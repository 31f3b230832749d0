// Codecs by name (core's codec_registry(): each codec in codec/src/codecs/ registers itself with
// its options), and whole files of chunk containers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/codec.h"
#include "cachegen/core/options.h"

namespace cachegen {

// Creates a codec; its options are checked against the codec's schema (unknown keys, types and
// ranges fail naming the codec and the key).
std::unique_ptr<Codec> make_codec(const std::string& name, const Options& options,
                                  const CodecContext& context);

// Encodes a cache as back-to-back containers of at most chunk_tokens tokens each
// (chunk_tokens <= 0: one chunk). stats (optional) accumulates over chunks.
std::vector<uint8_t> encode_chunks(const Codec& codec, const KVCache& kv, int64_t chunk_tokens,
                                   EncodeStats* stats);
// Decodes every container of a file and concatenates the chunks; checks they are contiguous.
KVCache decode_file(const std::vector<uint8_t>& bytes, const std::string& source,
                    const CodecContext& context);

}  // namespace cachegen
