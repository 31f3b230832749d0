#include "cachegen/stream/resident_compute.h"

#include <cstring>

#include "cachegen/core/error.h"
#include "cachegen/core/timer.h"

namespace cachegen {

namespace {
class HostKVMemory : public KVMemory {
 public:
  std::string description() const override { return "host memory, CPU codecs"; }
  ResidentKV allocate(const KVShape& shape, DType dtype) override {
    buffers_.push_back(KVCache::uninitialized(shape, dtype));
    return {shape, dtype, buffers_.back().data()};
  }
  void release() override { buffers_.clear(); }
  void decode(const ChunkStore& store, int64_t chunk, int encoding,
              const ResidentKV& dst) override {
    // dst is one of our buffers: the codec writes straight into it.
    for (KVCache& buffer : buffers_) {
      if (buffer.data() == dst.data) {
        const StoredChunk& c = store.chunks().at(static_cast<size_t>(chunk));
        const std::vector<uint8_t>& bits = c.bitstreams.at(static_cast<size_t>(encoding));
        store.encodings()
            .at(static_cast<size_t>(encoding))
            .codec->decode_into(bits.data(), bits.size(), 0, buffer, 0);
        return;
      }
    }
    fail("host KV memory: chunk ", chunk, " decoded into memory it did not allocate");
  }
  KVCache download(const ResidentKV& kv) const override {
    KVCache out = KVCache::uninitialized(kv.shape, kv.dtype);
    std::memcpy(out.data(), kv.data, out.byte_size());
    return out;
  }

 private:
  std::vector<KVCache> buffers_;  // a KVCache's heap buffer does not move with the vector
};
}  // namespace

std::unique_ptr<KVMemory> make_host_kv_memory() {
  return std::make_unique<HostKVMemory>();
}

ResidentCompute::ResidentCompute(KVMemory& memory, LanguageModel& model)
    : memory_(memory), model_(model) {}

std::string ResidentCompute::description() const {
  return memory_.description() + "; model on " + model_.device();
}

void ResidentCompute::begin(DType dtype) {
  memory_.release();
  chunks_.clear();
  dtype_ = dtype;
}

double ResidentCompute::decode_into(const ChunkStore& store, int64_t chunk, int encoding,
                                    ResidentKV* dst) {
  KVShape shape = store.reference().shape();
  shape.tokens = store.chunks().at(static_cast<size_t>(chunk)).range.count;
  *dst = memory_.allocate(shape, dtype_);
  Stopwatch clock;
  memory_.decode(store, chunk, encoding, *dst);
  return clock.seconds();
}

double ResidentCompute::decode(const ChunkStore& store, int64_t chunk, int encoding) {
  if (static_cast<int64_t>(chunks_.size()) != chunk)
    fail("resident decode of chunk ", chunk, " after ", chunks_.size(), " chunks: out of order");
  ResidentKV dst;
  const double wall = decode_into(store, chunk, encoding, &dst);
  chunks_.push_back(dst);
  return wall;
}

double ResidentCompute::recompute(const ChunkStore& store, int64_t chunk) {
  const StoredChunk& c = store.chunks().at(static_cast<size_t>(chunk));
  if (static_cast<int64_t>(chunks_.size()) != chunk)
    fail("resident recompute of chunk ", chunk, " after ", chunks_.size(), " chunks: out of order");
  if (static_cast<int64_t>(c.tokens.size()) != c.range.count)
    fail("recompute of chunk ", chunk, " needs its token ids; the store has none");
  ResidentKV dst = memory_.allocate(model_.kv_shape(c.range.count), dtype_);
  Stopwatch clock;
  model_.prefill_resident(c.tokens, chunks_, &dst);
  const double wall = clock.seconds();
  chunks_.push_back(dst);
  return wall;
}

double ResidentCompute::recompute_context(const ChunkStore& store) {
  if (!chunks_.empty())
    fail("resident recompute of the whole context after ", chunks_.size(), " chunks");
  const std::vector<int32_t> tokens = context_tokens(store);
  ResidentKV dst = memory_.allocate(model_.kv_shape(store.context_tokens()), dtype_);
  Stopwatch clock;
  model_.prefill_resident(tokens, {}, &dst);
  const double wall = clock.seconds();
  chunks_.push_back(dst);
  return wall;
}

double ResidentCompute::question_prefill(const std::vector<int32_t>& question) {
  if (question.empty())
    fail("compute timing 'measured' needs the request's question tokens");
  Stopwatch clock;
  model_.prefill_resident(question, chunks_, nullptr);
  return clock.seconds();
}

KVCache ResidentCompute::assembled() const {
  std::vector<KVCache> parts;
  for (const ResidentKV& kv : chunks_)
    parts.push_back(memory_.download(kv));
  return parts.empty() ? KVCache() : KVCache::concat_tokens(parts);
}

CostEstimates ResidentCompute::measure_estimates(const ChunkStore& store, DType dtype,
                                                 int64_t question_tokens) {
  CostEstimates costs;
  const auto encodings = static_cast<int>(store.encodings().size());
  // Warm-up, untimed: chunk 0 once in every encoding and recomputed once.
  begin(dtype);
  ResidentKV scratch;
  for (int e = 0; e < encodings; ++e)
    decode_into(store, 0, e, &scratch);
  recompute(store, 0);
  for (int64_t i = 0; i < store.chunk_count(); ++i) {
    begin(dtype);
    std::vector<double> decode_s;
    for (int e = 0; e < encodings; ++e)  // a decode does not read the chunks before it
      decode_s.push_back(decode_into(store, i, e, &scratch));
    costs.decode_s.push_back(std::move(decode_s));
  }
  begin(dtype);
  for (int64_t i = 0; i < store.chunk_count(); ++i)
    costs.recompute_s.push_back(recompute(store, i));
  const StoredChunk& last = store.chunks().back();
  costs.question_s = costs.recompute_s.back() * static_cast<double>(question_tokens) /
                     static_cast<double>(last.range.count);
  begin(dtype);
  return costs;
}

}  // namespace cachegen
