#include "cachegen/stream/streamer.h"

#include "cachegen/core/error.h"
#include "cachegen/core/timer.h"

namespace cachegen {

namespace {
// fp16 bytes of `tokens` tokens of this store's KV: what a GPU decoder writes.
uint64_t fp16_bytes(const ChunkStore& store, int64_t tokens) {
  KVShape shape = store.reference().shape();
  shape.tokens = tokens;
  return static_cast<uint64_t>(shape.elements()) * 2;
}
}  // namespace

ChunkCompute::ChunkCompute(ComputeTiming timing, const HardwareProfile* profile,
                           LanguageModel* model, bool materialize, ResidentCompute* resident)
    : timing_(timing),
      profile_(profile),
      model_(model),
      materialize_(materialize),
      resident_(resident) {
  if (resident_ && timing_ != ComputeTiming::kMeasured)
    fail("a resident pipeline times real work: it needs compute timing 'measured'");
  if (timing_ == ComputeTiming::kProfile && !profile_)
    fail("compute timing 'profile' needs a hardware profile");
  if (timing_ == ComputeTiming::kMeasured && !model_)
    fail("compute timing 'measured' needs a model (recompute and question prefill run on it)");
  if (timing_ == ComputeTiming::kMeasured && !materialize_)
    fail("compute timing 'measured' runs the real work, so it always materializes the KV");
  if (profile_)
    profile_->validate();
}

CostEstimates ChunkCompute::estimates(const ChunkStore& store, int64_t question_tokens) {
  if (resident_)
    return resident_->measure_estimates(store, store.reference().dtype(), question_tokens);
  CostEstimates costs;
  const auto& chunks = store.chunks();
  for (const StoredChunk& c : chunks) {
    std::vector<double> decode;
    for (size_t encoding = 0; encoding < store.encodings().size(); ++encoding) {
      decode.push_back(timing_ == ComputeTiming::kProfile
                           ? profile_->decode_seconds(fp16_bytes(store, c.range.count),
                                                      store.encodings()[encoding].codec.get())
                           : c.decode_s[encoding]);
    }
    costs.decode_s.push_back(std::move(decode));
    if (timing_ == ComputeTiming::kProfile) {
      costs.recompute_s.push_back(profile_->prefill_seconds(c.range.count, c.range.begin));
    } else {
      if (!(c.prefill_s > 0))
        fail("compute timing 'measured' needs the store's measured prefill times");
      costs.recompute_s.push_back(c.prefill_s);
    }
  }
  if (timing_ == ComputeTiming::kProfile) {
    costs.question_s = profile_->prefill_seconds(question_tokens, store.context_tokens());
  } else {
    // The last chunk's prefill rate (it ran on top of nearly the whole context).
    const StoredChunk& last = chunks.back();
    costs.question_s = last.prefill_s * static_cast<double>(question_tokens) /
                       static_cast<double>(last.range.count);
  }
  return costs;
}

double ChunkCompute::decode(const ChunkStore& store, int64_t chunk, int encoding,
                            KVCache& context) {
  if (resident_)
    return resident_->decode(store, chunk, encoding);
  Stopwatch clock;
  if (materialize_)
    store.decode_into(chunk, encoding, context);
  const double wall = clock.seconds();
  if (timing_ == ComputeTiming::kMeasured)
    return wall;
  const StoredChunk& c = store.chunks()[static_cast<size_t>(chunk)];
  return profile_->decode_seconds(fp16_bytes(store, c.range.count),
                                  store.encodings()[static_cast<size_t>(encoding)].codec.get());
}

double ChunkCompute::recompute(const ChunkStore& store, int64_t chunk, KVCache& context) {
  if (resident_)
    return resident_->recompute(store, chunk);
  const StoredChunk& c = store.chunks()[static_cast<size_t>(chunk)];
  double wall = 0;
  if (materialize_) {
    if (model_) {
      if (static_cast<int64_t>(c.tokens.size()) != c.range.count)
        fail("recompute of chunk ", chunk, " needs its token ids; the store has none");
      const KVCache past = context.slice_tokens(0, c.range.begin);
      Stopwatch clock;
      PrefillResult r = model_->prefill(c.tokens, past.shape().tokens ? &past : nullptr, false);
      wall = clock.seconds();
      copy_rows_into(r.kv.slice_tokens(c.range.begin, c.range.count), context, c.range.begin);
    } else {
      copy_rows_into(store.reference().slice_tokens(c.range.begin, c.range.count), context,
                     c.range.begin);
    }
  }
  return timing_ == ComputeTiming::kMeasured
             ? wall
             : profile_->prefill_seconds(c.range.count, c.range.begin);
}

double ChunkCompute::recompute_context(const ChunkStore& store, KVCache& context) {
  if (resident_)
    return resident_->recompute_context(store);
  double wall = 0;
  if (materialize_) {
    if (model_) {
      const std::vector<int32_t> tokens = context_tokens(store);
      Stopwatch clock;
      PrefillResult r = model_->prefill(tokens, nullptr, false);
      wall = clock.seconds();
      copy_rows_into(r.kv, context, 0);
    } else {
      copy_rows_into(store.reference(), context, 0);
    }
  }
  return timing_ == ComputeTiming::kMeasured ? wall
                                             : profile_->prefill_seconds(store.context_tokens(), 0);
}

double ChunkCompute::question_prefill(const KVCache& context, const std::vector<int32_t>& question,
                                      int64_t question_tokens, int64_t context_tokens) {
  if (timing_ == ComputeTiming::kProfile)
    return profile_->prefill_seconds(question_tokens, context_tokens);
  if (resident_)
    return resident_->question_prefill(question);
  if (question.empty())
    fail("compute timing 'measured' needs the request's question tokens");
  Stopwatch clock;
  model_->prefill(question, &context, false);
  return clock.seconds();
}

StreamOutcome stream_context(const ChunkStore& store, Controller& controller, NetworkModel& network,
                             ChunkCompute& compute, const StreamRequest& request) {
  if (!(request.slo_s > 0))
    fail("the SLO must be positive (slo_s = ", request.slo_s, ")");
  const int64_t question_tokens = request.question.empty()
                                      ? request.question_tokens
                                      : static_cast<int64_t>(request.question.size());
  const CostEstimates costs = compute.estimates(store, question_tokens);
  ResidentCompute* resident = compute.resident();
  if (resident)
    resident->begin(store.reference().dtype());
  // The context's KV on the host, assembled chunk by chunk in place (materialize, without a
  // resident pipeline); every token is written before the question reads it.
  StreamOutcome out;
  if (compute.materialize() && !resident)
    out.kv = KVCache::uninitialized(store.reference().shape(), store.reference().dtype());
  std::vector<SentChunk> sent;
  PipelineClock clock;
  if (controller.whole_context_text()) {
    // One transfer of all the text, then one prefill of the whole context.
    uint64_t text_bytes = 0;
    for (const StoredChunk& c : store.chunks())
      text_bytes += c.text_bytes;
    const double start_s = clock.next_start(request.overlap);
    const double arrival_s = network.transfer(text_bytes, start_s);
    const double compute_s = compute.recompute_context(store, out.kv);
    ChunkOutcome whole;
    whole.chunks = store.chunk_count();
    whole.bytes = text_bytes;
    whole.start_s = start_s;
    whole.arrival_s = arrival_s;
    whole.compute_s = compute_s;
    whole.compute_start_s = clock.add(arrival_s, compute_s);
    out.chunks.push_back(whole);
    out.recompute_s = compute_s;
    out.transfer_s = arrival_s - start_s;
    out.bytes = text_bytes;
  }
  for (int64_t i = controller.whole_context_text() ? store.chunk_count() : 0;
       i < store.chunk_count(); ++i) {
    StreamView view{store, costs, sent, network};
    view.next = i;
    view.now_s = clock.next_start(request.overlap);
    view.compute_free_s = clock.compute_free_s;
    view.slo_s = request.slo_s;
    view.overlap = request.overlap;
    const int choice = controller.choose(view);
    if (choice != kTextChoice &&
        (choice < 0 || choice >= static_cast<int>(store.encodings().size()))) {
      fail("controller '", controller.name(), "' chose encoding ", choice, " for chunk ", i,
           "; the store has ", store.encodings().size(), " encodings");
    }
    ChunkOutcome c;
    c.choice = choice;
    c.bytes = view.bytes(i, choice);
    c.start_s = view.now_s;
    c.arrival_s = network.transfer(c.bytes, c.start_s);
    if (choice == kTextChoice) {
      c.compute_s = compute.recompute(store, i, out.kv);
      out.recompute_s += c.compute_s;
    } else {
      c.compute_s = compute.decode(store, i, choice, out.kv);
      out.decode_s += c.compute_s;
    }
    c.compute_start_s = clock.add(c.arrival_s, c.compute_s);
    out.transfer_s += c.arrival_s - c.start_s;
    out.bytes += c.bytes;
    sent.push_back({i, choice, c.bytes, c.start_s, c.arrival_s});
    out.chunks.push_back(c);
  }
  if (resident)
    out.kv = resident->assembled();
  out.prefill_s =
      compute.question_prefill(out.kv, request.question, question_tokens, store.context_tokens());
  out.ttft_s = clock.compute_free_s + out.prefill_s;
  out.waiting_s = out.ttft_s - out.decode_s - out.recompute_s - out.prefill_s;
  out.slo_met = out.ttft_s <= request.slo_s;
  return out;
}

}  // namespace cachegen
