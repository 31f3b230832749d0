// Conformance of every registered controller (and the docs/examples controller), created with
// its sample options, on a store of the default encodings (quant8, cg3, cg2, cg1) over a fluid
// link whose rate drops: the KV streaming assembles is exactly the chosen encodings' decode (or
// the recomputed text), the bytes are the chosen bitstreams', TTFT equals its breakdown and the
// timeline holds, and the choices are deterministic. A new controller is covered by
// registering it.
#include <gtest/gtest.h>

#include <cstring>

#include "cachegen/codec/registry.h"
#include "cachegen/core/synthetic_kv.h"
#include "cachegen/netsim/fluid_network.h"
#include "cachegen/stream/streamer.h"

namespace cachegen {
namespace {

std::shared_ptr<const Codec> codec(const std::string& name, const std::string& params) {
  return make_codec(name, Options::parse(params, "test"), CodecContext{1, {}});
}

// 5 chunks of 64 tokens of [4 layers, 2 heads, 64 dims] f16 KV.
const ChunkStore& store() {
  static const ChunkStore s = [] {
    SyntheticKVSpec spec;
    spec.shape = {4, 300, 2, 64};
    return ChunkStore::build(make_synthetic_kv(spec),
                             {{"quant8", codec("quant", "bits=8")},
                              {"cg3", codec("cachegen", "level=3")},
                              {"cg2", codec("cachegen", "level=2")},
                              {"cg1", codec("cachegen", "level=1")}},
                             64, {});
  }();
  return s;
}

class ControllerConformance : public ::testing::TestWithParam<std::string> {
 protected:
  StreamOutcome run(double slo_s) const {
    const PluginInfo& info = controller_registry().info(GetParam());
    std::unique_ptr<Controller> controller =
        controller_registry().create(GetParam(), Options::parse(info.sample_options, "test"));
    EXPECT_EQ(controller->name(), GetParam());
    HardwareProfile profile;  // decode 2 GB/s of fp16 + 1 ms; prefill 30 us per token + 2 ms
    profile.name = "test";
    profile.prefill_fixed_s = 0.002;
    profile.prefill_per_token_s = 30e-6;
    profile.decode_fixed_s = 0.001;
    profile.decode_bytes_per_s = 2e9;
    ChunkCompute compute(ComputeTiming::kProfile, &profile, nullptr, /*materialize=*/true);
    NetworkConfig link;  // 200 Mb/s, then 20 Mb/s from 10 ms; 2 ms RTT
    link.trace = BandwidthTrace({{0, 200e6}, {0.010, 20e6}}, "step");
    link.rtt_s = 0.002;
    FluidNetwork network(link);
    StreamRequest request;
    request.question_tokens = 16;
    request.slo_s = slo_s;
    return stream_context(store(), *controller, network, compute, request);
  }
};

TEST_P(ControllerConformance, AssembledKVIsTheChosenEncodingsDecoded) {
  for (double slo : {0.02, 0.2, 2.0}) {
    StreamOutcome out = run(slo);
    // One row per store chunk, or one row for all of them (whole-context text).
    std::vector<int> choices;
    for (const ChunkOutcome& row : out.chunks) {
      EXPECT_TRUE(row.chunks == 1 || (row.chunks == store().chunk_count() &&
                                      row.choice == kTextChoice && out.chunks.size() == 1));
      choices.insert(choices.end(), static_cast<size_t>(row.chunks), row.choice);
    }
    ASSERT_EQ(choices.size(), static_cast<size_t>(store().chunk_count()));
    std::vector<KVCache> parts;
    uint64_t bytes = 0;
    for (size_t i = 0; i < choices.size(); ++i) {
      const int choice = choices[i];
      const StoredChunk& chunk = store().chunks()[i];
      const auto c = static_cast<int64_t>(i);
      parts.push_back(choice == kTextChoice
                          ? store().reference().slice_tokens(chunk.range.begin, chunk.range.count)
                          : store().decode(c, choice).converted(store().reference().dtype()));
      const uint64_t expected = choice == kTextChoice
                                    ? chunk.text_bytes
                                    : chunk.bitstreams[static_cast<size_t>(choice)].size();
      if (out.chunks.size() == choices.size()) {
        EXPECT_EQ(out.chunks[i].bytes, expected) << "chunk " << i;
      }
      bytes += expected;
    }
    EXPECT_EQ(out.bytes, bytes);
    KVCache expected = KVCache::concat_tokens(parts);
    ASSERT_EQ(out.kv.byte_size(), expected.byte_size());
    EXPECT_EQ(std::memcmp(out.kv.data(), expected.data(), expected.byte_size()), 0)
        << "SLO " << slo;
  }
}

TEST_P(ControllerConformance, TtftEqualsItsBreakdownAndTheTimelineHolds) {
  for (double slo : {0.02, 0.2, 2.0}) {
    StreamOutcome out = run(slo);
    double gpu_free = 0, transfer = 0;
    for (const ChunkOutcome& c : out.chunks) {
      EXPECT_GT(c.arrival_s, c.start_s);
      EXPECT_GE(c.compute_start_s, c.arrival_s);
      EXPECT_GE(c.compute_start_s, gpu_free);
      gpu_free = c.compute_start_s + c.compute_s;
      transfer += c.arrival_s - c.start_s;
    }
    EXPECT_DOUBLE_EQ(out.ttft_s, gpu_free + out.prefill_s);
    EXPECT_NEAR(out.ttft_s, out.decode_s + out.recompute_s + out.prefill_s + out.waiting_s, 1e-12);
    EXPECT_GE(out.waiting_s, -1e-12);
    EXPECT_NEAR(out.transfer_s, transfer, 1e-12);
    EXPECT_EQ(out.slo_met, out.ttft_s <= slo);
  }
}

TEST_P(ControllerConformance, ChoicesAreDeterministic) {
  StreamOutcome a = run(0.2), b = run(0.2);
  for (size_t i = 0; i < a.chunks.size(); ++i)
    EXPECT_EQ(a.chunks[i].choice, b.chunks[i].choice) << "chunk " << i;
  EXPECT_EQ(a.ttft_s, b.ttft_s);
}

INSTANTIATE_TEST_SUITE_P(Registered, ControllerConformance,
                         ::testing::ValuesIn(controller_registry().names()),
                         [](const auto& test) { return test.param; });

}  // namespace
}  // namespace cachegen
