#include "cachegen/stream/chunk_store.h"

#include <cmath>
#include <set>

#include "cachegen/core/error.h"
#include "cachegen/core/timer.h"

namespace cachegen {

std::vector<TokenRange> split_into_chunks(int64_t tokens, int64_t chunk_tokens) {
  if (tokens < 1)
    fail("chunking: a context needs at least one token, not ", tokens);
  if (chunk_tokens < 1)
    fail("chunking: chunk_tokens must be at least 1, not ", chunk_tokens);
  std::vector<TokenRange> out;
  for (int64_t begin = 0; begin < tokens; begin += chunk_tokens)
    out.push_back({begin, std::min(chunk_tokens, tokens - begin)});
  return out;
}

ChunkStore ChunkStore::build(const KVCache& kv, std::vector<StoreEncoding> encodings,
                             int64_t chunk_tokens, const ContextText& text) {
  if (encodings.empty())
    fail("chunk store: no encodings configured");
  std::set<std::string> names;
  for (const StoreEncoding& encoding : encodings) {
    if (encoding.name.empty() || !encoding.codec)
      fail("chunk store: every encoding needs a name and a codec");
    if (!names.insert(encoding.name).second)
      fail("chunk store: encoding '", encoding.name, "' is listed twice");
  }
  const int64_t total = kv.shape().tokens;
  if (!text.tokens.empty() && static_cast<int64_t>(text.tokens.size()) != total) {
    fail("chunk store: ", text.tokens.size(), " token ids for a KV cache of ", total, " tokens");
  }
  ChunkStore store;
  store.encodings_ = std::move(encodings);
  store.reference_ = kv.slice_tokens(0, total);
  std::vector<TokenRange> ranges = split_into_chunks(total, chunk_tokens);
  for (size_t n : {text.chunk_text_bytes.size(), text.chunk_prefill_s.size()}) {
    if (n != 0 && n != ranges.size())
      fail("chunk store: per-chunk text facts for ", n, " chunks, but the context has ",
           ranges.size());
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    StoredChunk chunk;
    chunk.range = ranges[i];
    if (!text.tokens.empty()) {
      chunk.tokens.assign(text.tokens.begin() + chunk.range.begin,
                          text.tokens.begin() + chunk.range.begin + chunk.range.count);
    }
    chunk.text_bytes = text.chunk_text_bytes.empty() ? static_cast<uint64_t>(4 * chunk.range.count)
                                                     : text.chunk_text_bytes[i];
    chunk.prefill_s = text.chunk_prefill_s.empty() ? 0 : text.chunk_prefill_s[i];
    KVCache original = kv.slice_tokens(chunk.range.begin, chunk.range.count);
    chunk.squared_norm = kv_squared_norm(original);
    for (const StoreEncoding& encoding : store.encodings_) {
      Stopwatch clock;
      chunk.bitstreams.push_back(
          encoding.codec->encode(original, ChunkPosition{chunk.range.begin, total}, nullptr));
      chunk.encode_s.push_back(clock.seconds());
      clock.restart();
      const std::vector<uint8_t>& bits = chunk.bitstreams.back();
      KVCache decoded = encoding.codec->decode(bits.data(), bits.size(), 0);
      chunk.decode_s.push_back(clock.seconds());
      chunk.relative_error.push_back(kv_relative_error(decoded, original));
    }
    store.chunks_.push_back(std::move(chunk));
  }
  return store;
}

int ChunkStore::encoding_index(const std::string& name) const {
  for (size_t i = 0; i < encodings_.size(); ++i) {
    if (encodings_[i].name == name)
      return static_cast<int>(i);
  }
  fail("the chunk store has no encoding '", name, "'; its encodings: ", encoding_names());
}

std::string ChunkStore::encoding_names() const {
  std::string out;
  for (const StoreEncoding& encoding : encodings_)
    out += (out.empty() ? "" : ", ") + encoding.name;
  return out;
}

double ChunkStore::relative_error(const std::vector<int>& choices) const {
  if (choices.size() != chunks_.size())
    fail("chunk store: ", choices.size(), " choices for ", chunks_.size(), " chunks");
  double error = 0, norm = 0;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    const StoredChunk& c = chunks_[i];
    const double e =
        choices[i] == kTextChoice ? 0 : c.relative_error.at(static_cast<size_t>(choices[i]));
    error += e * e * c.squared_norm;
    norm += c.squared_norm;
  }
  return norm > 0 ? std::sqrt(error / norm) : 0;
}

KVCache ChunkStore::decode(int64_t chunk, int encoding) const {
  const StoredChunk& c = chunks_.at(static_cast<size_t>(chunk));
  const std::vector<uint8_t>& bits = c.bitstreams.at(static_cast<size_t>(encoding));
  const StoreEncoding& e = encodings_.at(static_cast<size_t>(encoding));
  KVCache kv = e.codec->decode(bits.data(), bits.size(), 0);
  if (kv.shape().tokens != c.range.count) {
    fail("chunk store: chunk ", chunk, " encoding '", e.name, "' decoded to ", kv.shape().tokens,
         " tokens, expected ", c.range.count);
  }
  return kv;
}

void ChunkStore::decode_into(int64_t chunk, int encoding, KVCache& context) const {
  const StoredChunk& c = chunks_.at(static_cast<size_t>(chunk));
  const std::vector<uint8_t>& bits = c.bitstreams.at(static_cast<size_t>(encoding));
  const StoreEncoding& e = encodings_.at(static_cast<size_t>(encoding));
  if (context.shape() != reference_.shape()) {
    fail("chunk store: decoding chunk ", chunk, " into a cache of shape ",
         context.shape().to_string(), "; the context is ", reference_.shape().to_string());
  }
  e.codec->decode_into(bits.data(), bits.size(), 0, context, c.range.begin);
}

std::vector<int32_t> context_tokens(const ChunkStore& store) {
  std::vector<int32_t> tokens;
  for (const StoredChunk& c : store.chunks()) {
    if (static_cast<int64_t>(c.tokens.size()) != c.range.count)
      fail("recomputing the context needs every chunk's token ids; the store has none");
    tokens.insert(tokens.end(), c.tokens.begin(), c.tokens.end());
  }
  return tokens;
}

}  // namespace cachegen
