#include "cachegen/codec/registry.h"

#include <map>

#include "cachegen/codec/container.h"

namespace cachegen {

std::unique_ptr<Codec> make_codec(const std::string& name, const Options& options,
                                  const CodecContext& context) {
  return codec_registry().create(name, options, context);
}

std::vector<uint8_t> encode_chunks(const Codec& codec, const KVCache& kv, int64_t chunk_tokens,
                                   EncodeStats* stats) {
  const int64_t tokens = kv.shape().tokens;
  if (chunk_tokens <= 0 || chunk_tokens >= tokens)
    return codec.encode(kv, ChunkPosition{0, tokens}, stats);
  std::vector<uint8_t> out;
  for (int64_t begin = 0; begin < tokens; begin += chunk_tokens) {
    std::vector<uint8_t> chunk =
        codec.encode(kv.slice_tokens(begin, std::min(chunk_tokens, tokens - begin)),
                     ChunkPosition{begin, tokens}, stats);
    out.insert(out.end(), chunk.begin(), chunk.end());
  }
  return out;
}

KVCache decode_file(const std::vector<uint8_t>& bytes, const std::string& source,
                    const CodecContext& context) {
  std::vector<KVCache> parts;
  int64_t expected_offset = 0;
  uint64_t offset = 0;
  int64_t context_tokens = -1;
  // Chunks of one file usually share a codec and parameters: build each codec once (a profile
  // is then loaded once, not per chunk).
  std::map<std::string, std::unique_ptr<Codec>> codecs;
  while (offset < bytes.size() || parts.empty()) {
    // Peek at the header to route the container; the codec verifies it fully.
    ContainerView head = ContainerView::parse(bytes.data() + offset, bytes.size() - offset, offset,
                                              source, /*verify_checksum=*/false);
    if (head.header().token_offset != expected_offset) {
      fail("'", source, "': container at byte offset ", offset, " starts at token ",
           head.header().token_offset, ", expected ", expected_offset, " (chunks missing?)");
    }
    if (context_tokens >= 0 && head.header().context_tokens != context_tokens) {
      fail("'", source, "': container at byte offset ", offset, " belongs to a context of ",
           head.header().context_tokens, " tokens, the first to one of ", context_tokens);
    }
    context_tokens = head.header().context_tokens;
    std::unique_ptr<Codec>& codec = codecs[head.header().codec + '\n' + head.header().params];
    if (!codec) {
      Options params =
          Options::parse(head.header().params, str("container at byte offset ", offset));
      codec = make_codec(head.header().codec, params, context);
    }
    parts.push_back(codec->decode(bytes.data() + offset, head.total_size(), offset));
    expected_offset += parts.back().shape().tokens;
    offset += head.total_size();
  }
  if (expected_offset != context_tokens) {
    fail("'", source, "': chunks cover tokens [0, ", expected_offset, ") of a context of ",
         context_tokens, " tokens (file truncated at a chunk boundary?)");
  }
  return parts.size() == 1 ? std::move(parts[0]) : KVCache::concat_tokens(parts);
}

}  // namespace cachegen
