// The streaming engine against hand-computed timelines, with the real codecs and the fluid
// network model: chunking, the store, every controller, overlap, and config errors.
#include "cachegen/stream/streamer.h"

#include <gtest/gtest.h>

#include <random>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/core/synthetic_kv.h"
#include "cachegen/netsim/fluid_network.h"

namespace cachegen {
namespace {

std::shared_ptr<const Codec> codec(const std::string& name, const std::string& params) {
  return make_codec(name, Options::parse(params, "test"), CodecContext{1, {}});
}

// 4 chunks of 64 tokens; encodings best first: 8-bit quant, then CacheGen levels 3, 2, 1 (its
// level 3 keeps the most bits).
ChunkStore make_store(int64_t tokens = 256, int64_t chunk_tokens = 64) {
  SyntheticKVSpec spec;
  spec.shape = {4, tokens, 2, 64};
  std::vector<StoreEncoding> encodings{{"quant8", codec("quant", "bits=8")},
                                       {"cg3", codec("cachegen", "level=3")},
                                       {"cg2", codec("cachegen", "level=2")},
                                       {"cg1", codec("cachegen", "level=1")}};
  return ChunkStore::build(make_synthetic_kv(spec), std::move(encodings), chunk_tokens, {});
}

// Decode at 1 GB/s of fp16 output plus 1 ms; prefill 20 us per token plus 1 ns per token pair.
HardwareProfile test_profile() {
  HardwareProfile p;
  p.name = "test";
  p.prefill_fixed_s = 0.002;
  p.prefill_per_token_s = 20e-6;
  p.prefill_per_token_context_s = 1e-9;
  p.decode_fixed_s = 0.001;
  p.decode_bytes_per_s = 1e9;
  return p;
}

// A constant link at the full rate from the first byte (slow start off), so that the sums
// below are transfer_s() exactly.
NetworkConfig link(double rate_bps, double rtt_s) {
  NetworkConfig config;
  config.trace = BandwidthTrace::constant(rate_bps);
  config.rtt_s = rtt_s;
  config.slow_start = false;
  return config;
}

StreamOutcome run_with(const ChunkStore& store, Controller& controller, const NetworkConfig& net,
                       double slo_s, bool overlap = true, int64_t question_tokens = 32) {
  HardwareProfile profile = test_profile();
  ChunkCompute compute(ComputeTiming::kProfile, &profile, nullptr, true);
  FluidNetwork network(net);
  StreamRequest request;
  request.question_tokens = question_tokens;
  request.slo_s = slo_s;
  request.overlap = overlap;
  return stream_context(store, controller, network, compute, request);
}

StreamOutcome run(const ChunkStore& store, const std::string& controller_name,
                  const std::string& controller_options, const NetworkConfig& net, double slo_s,
                  bool overlap = true, int64_t question_tokens = 32) {
  auto controller = make_controller(
      controller_options.empty() ? controller_name : controller_name + ":" + controller_options);
  return run_with(store, *controller, net, slo_s, overlap, question_tokens);
}

TEST(Chunking, SplitsWithRemainder) {
  auto chunks = split_into_chunks(1000, 384);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2].begin, 768);
  EXPECT_EQ(chunks[2].count, 232);
  EXPECT_THROW(split_into_chunks(10, 0), Error);
  EXPECT_THROW(split_into_chunks(0, 10), Error);
}

TEST(ChunkStore, EncodesEveryEncodingAndDecodes) {
  ChunkStore store = make_store(200, 64);
  ASSERT_EQ(store.chunk_count(), 4);
  EXPECT_EQ(store.chunks()[3].range.count, 8);
  for (int64_t c = 0; c < store.chunk_count(); ++c) {
    const StoredChunk& chunk = store.chunks()[static_cast<size_t>(c)];
    EXPECT_EQ(chunk.text_bytes, static_cast<uint64_t>(4 * chunk.range.count));
    // Coarser encodings are less exact, and smaller (but for the 8-token tail, where the
    // entropy coder's tables outweigh its savings).
    for (int encoding = 1; encoding < 4; ++encoding) {
      if (chunk.range.count == 64) {
        EXPECT_LT(chunk.bitstreams[encoding].size(), chunk.bitstreams[encoding - 1].size());
      }
      EXPECT_GT(chunk.relative_error[encoding], chunk.relative_error[encoding - 1]);
    }
    EXPECT_EQ(store.decode(c, 2).shape().tokens, chunk.range.count);
  }
  EXPECT_EQ(store.encoding_index("cg1"), 3);
  try {
    store.encoding_index("cg9");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no encoding 'cg9'; its encodings: quant8, cg3, cg2, cg1"),
              std::string::npos);
  }
}

TEST(ChunkStore, RejectsBadEncodings) {
  SyntheticKVSpec spec;
  KVCache kv = make_synthetic_kv(spec);
  EXPECT_THROW(ChunkStore::build(kv, {}, 64, {}), Error);
  std::vector<StoreEncoding> twice{{"a", codec("quant", "bits=8")},
                                   {"a", codec("quant", "bits=4")}};
  EXPECT_THROW(ChunkStore::build(kv, twice, 64, {}), Error);
  ContextText text;
  text.tokens = {1, 2, 3};
  EXPECT_THROW(ChunkStore::build(kv, {{"a", codec("quant", "bits=8")}}, 64, text), Error);
}

// The fluid network without slow start: a chunk of B bytes requested at t arrives at
// t + rtt + 8 B / (rate x payload efficiency).
double transfer_s(uint64_t bytes, const NetworkConfig& net) {
  return net.rtt_s +
         8.0 * static_cast<double>(bytes) / (net.trace.max_rate_bps() * net.payload_efficiency());
}

TEST(Streamer, OneChunkIsTransferThenDecodeThenQuestion) {
  ChunkStore store = make_store(64, 64);
  NetworkConfig net = link(1e9, 0.01);
  StreamOutcome out = run(store, "fixed", "encoding=cg2", net, 10);
  const HardwareProfile p = test_profile();
  const uint64_t bytes = store.chunks()[0].bitstreams[2].size();
  const double transfer = transfer_s(bytes, net);
  const double decode = p.decode_seconds(4 * 2 * 64 * 128 * 2);
  const double question = p.prefill_seconds(32, 64);
  EXPECT_NEAR(out.ttft_s, transfer + decode + question, 1e-12);
  EXPECT_NEAR(out.transfer_s, transfer, 1e-12);
  EXPECT_NEAR(out.decode_s, decode, 1e-12);
  EXPECT_NEAR(out.prefill_s, question, 1e-12);
  EXPECT_NEAR(out.waiting_s, transfer, 1e-12);
  EXPECT_EQ(out.bytes, bytes);
  EXPECT_TRUE(out.slo_met);
}

TEST(Streamer, ManyChunksOverlapTransferWithDecode) {
  ChunkStore store = make_store();
  const HardwareProfile p = test_profile();
  const double decode = p.decode_seconds(4 * 2 * 64 * 128 * 2);  // 1.131 ms per chunk
  // Slow link: each transfer outlasts a decode, so only the last decode is exposed.
  NetworkConfig slow = link(2e8, 0.002);
  StreamOutcome out = run(store, "fixed", "encoding=quant8", slow, 10);
  double arrival = 0;
  for (const StoredChunk& c : store.chunks())
    arrival += transfer_s(c.bitstreams[0].size(), slow);
  EXPECT_NEAR(out.ttft_s, arrival + decode + p.prefill_seconds(32, 256), 1e-12);
  // Without overlap every decode is exposed.
  StreamOutcome serial = run(store, "fixed", "encoding=quant8", slow, 10, false);
  EXPECT_NEAR(serial.ttft_s, arrival + 4 * decode + p.prefill_seconds(32, 256), 1e-12);
  // Fast link, no RTT: decodes are the bottleneck; they run back to back after the first
  // chunk arrives.
  NetworkConfig fast = link(1e12, 0);
  StreamOutcome gpu_bound = run(store, "fixed", "encoding=quant8", fast, 10);
  const double first = transfer_s(store.chunks()[0].bitstreams[0].size(), fast);
  EXPECT_NEAR(gpu_bound.ttft_s, first + 4 * decode + p.prefill_seconds(32, 256), 1e-12);
  EXPECT_NEAR(gpu_bound.decode_s, 4 * decode, 1e-12);
}

// Text for every chunk, chosen chunk by chunk (what an adaptive controller may do).
class ChunkedTextController : public Controller {
 public:
  std::string name() const override { return "chunked-text"; }
  int choose(const StreamView&) override { return kTextChoice; }
};

TEST(Streamer, ChunkedTextRecomputesEachChunkOnTopOfTheOnesBefore) {
  ChunkStore store = make_store();
  NetworkConfig net = link(1e9, 0.001);
  const HardwareProfile p = test_profile();
  ChunkedTextController controller;
  StreamOutcome out = run_with(store, controller, net, 10, false);
  double expected = 0, recompute = 0;
  for (const StoredChunk& c : store.chunks()) {
    const double r = p.prefill_seconds(c.range.count, c.range.begin);
    expected += transfer_s(c.text_bytes, net) + r;
    recompute += r;
  }
  EXPECT_EQ(out.chunks.size(), 4u);
  EXPECT_NEAR(out.ttft_s, expected + p.prefill_seconds(32, 256), 1e-12);
  EXPECT_NEAR(out.recompute_s, recompute, 1e-12);
  EXPECT_EQ(out.decode_s, 0);
  // Without a model, recomputed KV is the reference: exact.
  const KVCache& ref = store.reference();
  ASSERT_EQ(out.kv.byte_size(), ref.byte_size());
  EXPECT_EQ(std::memcmp(out.kv.data(), ref.data(), ref.byte_size()), 0);
}

TEST(Streamer, TextBaselineSendsAllTextAndPrefillsOnce) {
  ChunkStore store = make_store();
  NetworkConfig net = link(1e9, 0.001);
  StreamOutcome out = run(store, "text", "", net, 10, false);
  const HardwareProfile p = test_profile();
  uint64_t bytes = 0;
  for (const StoredChunk& c : store.chunks())
    bytes += c.text_bytes;
  const double recompute = p.prefill_seconds(store.context_tokens(), 0);
  ASSERT_EQ(out.chunks.size(), 1u);
  EXPECT_EQ(out.chunks[0].chunks, store.chunk_count());
  EXPECT_EQ(out.bytes, bytes);
  EXPECT_NEAR(out.recompute_s, recompute, 1e-12);
  EXPECT_NEAR(out.ttft_s, transfer_s(bytes, net) + recompute + p.prefill_seconds(32, 256), 1e-12);
  // One prefill is cheaper than four: each pays the fixed cost.
  EXPECT_LT(recompute, 4 * p.prefill_fixed_s + p.prefill_seconds(store.context_tokens(), 0));
  const KVCache& ref = store.reference();
  ASSERT_EQ(out.kv.byte_size(), ref.byte_size());
  EXPECT_EQ(std::memcmp(out.kv.data(), ref.data(), ref.byte_size()), 0);
}

TEST(Streamer, AssembledKVIsTheChosenEncodingsDecoded) {
  ChunkStore store = make_store();
  StreamOutcome out = run(store, "fixed", "encoding=cg1", link(1e9, 0.001), 10);
  std::vector<KVCache> parts;
  for (int64_t c = 0; c < store.chunk_count(); ++c)
    parts.push_back(store.decode(c, 3).converted(store.reference().dtype()));
  KVCache expected = KVCache::concat_tokens(parts);
  ASSERT_EQ(out.kv.byte_size(), expected.byte_size());
  EXPECT_EQ(std::memcmp(out.kv.data(), expected.data(), expected.byte_size()), 0);
  // The store's error of an encoding mix, from per-chunk errors, is the assembled KV's.
  EXPECT_NEAR(store.relative_error({3, 3, 3, 3}), kv_relative_error(out.kv, store.reference()),
              1e-9);
  EXPECT_NEAR(store.relative_error({kTextChoice, kTextChoice, kTextChoice, kTextChoice}), 0, 0);
  std::vector<KVCache> mixed{store.reference().slice_tokens(0, 64),
                             store.decode(1, 0).converted(store.reference().dtype()),
                             store.decode(2, 2).converted(store.reference().dtype()),
                             store.reference().slice_tokens(192, 64)};
  EXPECT_NEAR(store.relative_error({kTextChoice, 0, 2, kTextChoice}),
              kv_relative_error(KVCache::concat_tokens(mixed), store.reference()), 1e-9);
}

TEST(Streamer, QuantControllerPicksTheEightBitEncoding) {
  ChunkStore store = make_store();
  StreamOutcome out = run(store, "quant", "", link(1e9, 0.001), 10);
  for (const ChunkOutcome& c : out.chunks)
    EXPECT_EQ(c.choice, 0);
}

// A step drop: 400 Mb/s, then 8 Mb/s after 5 ms. An SLO that the best encoding misses.
NetworkConfig step_drop() {
  NetworkConfig net;
  net.trace = BandwidthTrace({{0, 4e8}, {0.005, 8e6}}, "step");
  net.rtt_s = 0.001;
  return net;
}

TEST(Streamer, CacheGenAdaptsToAStepDropAndMeetsTheSloFixedMisses) {
  ChunkStore store = make_store();
  const double slo = 0.12;
  StreamOutcome fixed = run(store, "fixed", "encoding=quant8", step_drop(), slo);
  StreamOutcome adaptive = run(store, "cachegen", "prior_mbps=400", step_drop(), slo);
  EXPECT_FALSE(fixed.slo_met) << fixed.ttft_s;
  EXPECT_TRUE(adaptive.slo_met) << adaptive.ttft_s;
  // It starts at the best encoding and, once a transfer has seen the drop, moves to coarser
  // encodings or text.
  EXPECT_EQ(adaptive.chunks.front().choice, 0);
  int adapted = 0;
  for (size_t i = 1; i < adaptive.chunks.size(); ++i) {
    if (adaptive.chunks[i - 1].arrival_s <= 0.005)
      continue;
    const int choice = adaptive.chunks[i].choice;
    EXPECT_TRUE(choice == kTextChoice || choice > 0) << "chunk " << i << " choice " << choice;
    ++adapted;
  }
  EXPECT_GT(adapted, 0);
}

TEST(Streamer, CacheGenFirstChunkSmallestIgnoresThePrior) {
  ChunkStore store = make_store();
  const double slo = 0.12;
  StreamOutcome prior = run(store, "cachegen", "prior_mbps=400", step_drop(), slo);
  StreamOutcome smallest =
      run(store, "cachegen", "prior_mbps=400;first_chunk=smallest", step_drop(), slo);
  EXPECT_EQ(prior.chunks.front().choice, 0);
  const int last = static_cast<int>(store.encodings().size()) - 1;
  EXPECT_TRUE(smallest.chunks.front().choice == last ||
              smallest.chunks.front().choice == kTextChoice)
      << smallest.chunks.front().choice;
  EXPECT_LE(smallest.chunks.front().bytes, prior.chunks.front().bytes);
}

// Hand-built costs for a controller's view: every decode `decode_s`, every recompute
// `recompute_s` (seconds), no question prefill.
CostEstimates flat_costs(const ChunkStore& store, double decode_s, double recompute_s) {
  const auto chunks = static_cast<size_t>(store.chunk_count());
  CostEstimates costs;
  costs.decode_s.assign(chunks, std::vector<double>(store.encodings().size(), decode_s));
  costs.recompute_s.assign(chunks, recompute_s);
  return costs;
}

// After a KV chunk that came fast (quant8's bytes in 1 ms) and a text chunk that took one round
// trip for its 256 bytes, the default estimate (KV transfers only) still sees a fast link and
// picks the best encoding; counting the text transfer (`estimate_from=all`) sees ~200 kb/s,
// where nothing fits the budget and recompute wins: the trap that kept the controller on text.
TEST(Streamer, CacheGenEstimateSkipsTextTransfers) {
  ChunkStore store = make_store();
  CostEstimates costs = flat_costs(store, 0.001, 0.002);
  std::vector<SentChunk> sent{{0, 0, store.chunks()[0].bitstreams[0].size(), 0.0, 0.001},
                              {1, kTextChoice, 256, 0.001, 0.011}};
  FluidNetwork network(link(1e9, 0.010));
  StreamView view{store, costs, sent, network};
  view.next = 2;
  view.now_s = 0.011;
  view.compute_free_s = 0.013;
  view.slo_s = 0.1;
  EXPECT_EQ(make_controller("cachegen")->choose(view), 0);
  EXPECT_EQ(make_controller("cachegen:estimate_from=all")->choose(view), kTextChoice);
}

// The three text rules on one view: a fast link (quant8's bytes in 1 ms), decode 1 ms, recompute
// 5 ms. With a loose SLO everything fits: `faster` and `fallback` fetch 8-bit (it finishes
// sooner), `fits` recomputes (exact KV fits). With an SLO already past nothing fits: `fallback`
// recomputes (the reference's rule), the others take the faster option, the smallest encoding.
TEST(Streamer, CacheGenTextRules) {
  ChunkStore store = make_store();
  CostEstimates costs = flat_costs(store, 0.001, 0.005);
  std::vector<SentChunk> sent{{0, 0, store.chunks()[0].bitstreams[0].size(), 0.0, 0.001}};
  FluidNetwork network(link(1e9, 0.001));
  StreamView view{store, costs, sent, network};
  view.next = 1;
  view.now_s = view.compute_free_s = 0.001;
  auto choice = [&](const std::string& rule) {
    return make_controller("cachegen:text=" + rule)->choose(view);
  };
  view.slo_s = 10;
  EXPECT_EQ(choice("faster"), 0);
  EXPECT_EQ(choice("fallback"), 0);
  EXPECT_EQ(choice("fits"), kTextChoice);
  view.slo_s = 0.0005;
  const int smallest = static_cast<int>(store.encodings().size()) - 1;
  EXPECT_EQ(choice("faster"), smallest);
  EXPECT_EQ(choice("fallback"), kTextChoice);
  EXPECT_EQ(choice("fits"), smallest);
}

// (SLO missed, total quality loss, TTFT): lower is better, in that order.
std::tuple<int, int64_t, double> grade(const StreamOutcome& out, bool met_first) {
  int64_t loss = 0;
  for (const ChunkOutcome& c : out.chunks)
    loss += quality_loss(c.choice);
  return met_first && out.slo_met ? std::make_tuple(0, loss, out.ttft_s)
                                  : std::make_tuple(1, static_cast<int64_t>(out.ttft_s * 1e9), 0.0);
}

TEST(Streamer, OracleIsNeverWorseThanCacheGen) {
  ChunkStore store = make_store();
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> rate(5e6, 5e8), slo(0.02, 0.3);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<TracePoint> points;
    for (int i = 0; i < 20; ++i)
      points.push_back({0.01 * i, rate(rng)});
    NetworkConfig net;
    net.trace = BandwidthTrace(points, "random");
    net.rtt_s = 0.002;
    const double s = slo(rng);
    for (bool overlap : {true, false}) {
      StreamOutcome cg = run(store, "cachegen", "", net, s, overlap);
      StreamOutcome oracle = run(store, "oracle", "", net, s, overlap);
      if (cg.slo_met) {
        ASSERT_TRUE(oracle.slo_met) << "trial " << trial;
        EXPECT_LE(grade(oracle, true), grade(cg, true)) << "trial " << trial;
      } else if (!oracle.slo_met) {
        EXPECT_LE(oracle.ttft_s, cg.ttft_s + 1e-12) << "trial " << trial;
      }
    }
  }
}

TEST(Streamer, ConfigErrorsAreClear) {
  ChunkStore store = make_store();
  auto message = [&](const std::string& controller, const std::string& options, double slo) {
    try {
      run(store, controller, options, link(1e9, 0.001), slo);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message("fixed", "encoding=cg7", 1).find("no encoding 'cg7'; its encodings: quant8, cg3"),
      std::string::npos);
  EXPECT_NE(message("fixed", "encoding=cg1", 0).find("SLO must be positive"), std::string::npos);
  EXPECT_NE(message("fixed", "", 1).find("needs encoding=NAME"), std::string::npos);
  EXPECT_NE(message("bola", "", 1).find("unknown controller 'bola'; valid: "), std::string::npos);
  EXPECT_NE(message("cachegen", "speed=3", 1).find("speed"), std::string::npos);
  SyntheticKVSpec spec;
  ChunkStore no_quant =
      ChunkStore::build(make_synthetic_kv(spec), {{"cg2", codec("cachegen", "level=2")}}, 64, {});
  HardwareProfile profile = test_profile();
  ChunkCompute compute(ComputeTiming::kProfile, &profile, nullptr, false);
  FluidNetwork network(link(1e9, 0.001));
  auto quant = make_controller("quant");
  StreamRequest request;
  request.slo_s = 1;
  EXPECT_THROW(stream_context(no_quant, *quant, network, compute, request), Error);
  EXPECT_THROW(ChunkCompute(ComputeTiming::kMeasured, nullptr, nullptr, true), Error);
}

}  // namespace
}  // namespace cachegen
