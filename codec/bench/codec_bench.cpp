// Codec throughput (Google Benchmark). Counters: GB/s of fp16 KV (2 bytes per element, whatever
// the input dtype) and bits per element on the wire. Data: a synthetic chunk shaped like 8 layers
// of a 7B GQA model (1536 tokens, 8 KV heads x 128), f16. Each codec runs on 1 thread and on all
// threads (the second argument). zstd -3 runs on cachegen's level-2 symbols, one frame per
// (layer, kind) laid out channel-major so it sees the same token-wise locality.
//
//   build/bin/codec_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <vector>

#include "cachegen/codec/level_table.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {
namespace {

const KVCache& bench_kv() {
  static const KVCache kv = [] {
    SyntheticKVSpec spec;
    spec.shape = {8, 1536, 8, 128};
    spec.dtype = DType::kF16;
    return make_synthetic_kv(spec);
  }();
  return kv;
}

struct CodecCase {
  const char* codec;
  const char* params;
};

const CodecCase kCases[] = {
    {"identity", ""},
    {"quant", "bits=8"},
    {"quant", "bits=4"},
    {"kivi", "bits=2"},
    {"cachegen", "level=2;coder=rans"},
    {"cachegen", "level=2;coder=ac"},
    {"cachegen", "level=2;coder=rans;delta=on"},
};

void set_counters(benchmark::State& state, size_t bytes) {
  const double elements = static_cast<double>(bench_kv().shape().elements());
  state.counters["GB/s"] =
      benchmark::Counter(2 * elements / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bits/el"] = 8.0 * static_cast<double>(bytes) / elements;
}

int threads_arg(benchmark::State& state) {
  return state.range(1) == 0 ? 1 : hardware_threads();
}

// The codec of benchmark arguments (case index, threads), with the row's label set.
std::unique_ptr<Codec> bench_codec(benchmark::State& state) {
  const CodecCase& c = kCases[state.range(0)];
  CodecContext context;
  context.threads = threads_arg(state);
  state.SetLabel(std::string(c.codec) + " " + c.params +
                 (state.range(1) ? " all-threads" : " 1-thread"));
  return make_codec(c.codec, Options::parse(c.params, "bench"), context);
}

void BM_Encode(benchmark::State& state) {
  auto codec = bench_codec(state);
  bench_kv();  // generate the data outside the timed loop
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<uint8_t> out = codec->encode(bench_kv(), ChunkPosition{}, nullptr);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, bytes);
}

void BM_Decode(benchmark::State& state) {
  auto codec = bench_codec(state);
  std::vector<uint8_t> encoded = codec->encode(bench_kv(), ChunkPosition{}, nullptr);
  for (auto _ : state) {
    KVCache out = codec->decode(encoded.data(), encoded.size(), 0);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, encoded.size());
}

void codec_args(benchmark::internal::Benchmark* b) {
  for (int64_t i = 0; i < static_cast<int64_t>(std::size(kCases)); ++i) {
    b->Args({i, 0});
    b->Args({i, 1});
  }
}

BENCHMARK(BM_Encode)->Apply(codec_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Decode)->Apply(codec_args)->Unit(benchmark::kMillisecond)->UseRealTime();

// cachegen level-2 symbols, channel-major per (layer, kind): [L*2][C][T].
const std::vector<std::vector<uint8_t>>& level2_symbols() {
  static const std::vector<std::vector<uint8_t>> planes = [] {
    const KVCache& kv = bench_kv();
    const KVShape& s = kv.shape();
    LayerBins bins = level_bins(2, static_cast<int>(s.layers));
    std::vector<std::vector<uint8_t>> out;
    std::vector<float> x(static_cast<size_t>(s.channels()));
    std::vector<uint8_t> q(x.size());
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int kind = 0; kind < 2; ++kind) {
        int b =
            kind == kKey ? bins.key[static_cast<size_t>(l)] : bins.value[static_cast<size_t>(l)];
        std::vector<uint8_t> plane(static_cast<size_t>(s.tokens * s.channels()));
        for (int64_t t = 0; t < s.tokens; ++t) {
          kv.load_row(l, kind, t, x.data());
          quantize_symmetric(x.data(), s.channels(), absmax(x.data(), s.channels()), b / 2 - 1,
                             q.data());
          for (int64_t c = 0; c < s.channels(); ++c)
            plane[static_cast<size_t>(c * s.tokens + t)] = q[static_cast<size_t>(c)];
        }
        out.push_back(std::move(plane));
      }
    }
    return out;
  }();
  return planes;
}

void BM_ZstdEncode(benchmark::State& state) {
  const auto& planes = level2_symbols();  // built outside the timed loop
  std::vector<std::vector<uint8_t>> out(planes.size());
  int threads = threads_arg(state);
  state.SetLabel(std::string("zstd -3 on cachegen level-2 symbols") +
                 (state.range(1) ? " all-threads" : " 1-thread"));
  size_t bytes = 0;
  for (auto _ : state) {
    parallel_for(static_cast<int64_t>(planes.size()), threads, [&](int64_t i) {
      const auto& p = planes[static_cast<size_t>(i)];
      auto& o = out[static_cast<size_t>(i)];
      o.resize(ZSTD_compressBound(p.size()));
      o.resize(ZSTD_compress(o.data(), o.size(), p.data(), p.size(), 3));
    });
    bytes = 0;
    for (const auto& o : out)
      bytes += o.size();
  }
  set_counters(state, bytes);
}

void BM_ZstdDecode(benchmark::State& state) {
  const auto& planes = level2_symbols();
  std::vector<std::vector<uint8_t>> packed(planes.size()), out(planes.size());
  size_t bytes = 0;
  for (size_t i = 0; i < planes.size(); ++i) {
    packed[i].resize(ZSTD_compressBound(planes[i].size()));
    packed[i].resize(
        ZSTD_compress(packed[i].data(), packed[i].size(), planes[i].data(), planes[i].size(), 3));
    out[i].resize(planes[i].size());
    bytes += packed[i].size();
  }
  int threads = threads_arg(state);
  state.SetLabel(std::string("zstd -3 on cachegen level-2 symbols") +
                 (state.range(1) ? " all-threads" : " 1-thread"));
  for (auto _ : state) {
    parallel_for(static_cast<int64_t>(planes.size()), threads, [&](int64_t i) {
      auto n = ZSTD_decompress(
          out[static_cast<size_t>(i)].data(), out[static_cast<size_t>(i)].size(),
          packed[static_cast<size_t>(i)].data(), packed[static_cast<size_t>(i)].size());
      benchmark::DoNotOptimize(n);
    });
  }
  set_counters(state, bytes);
}

BENCHMARK(BM_ZstdEncode)->Args({0, 0})->Args({0, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ZstdDecode)->Args({0, 0})->Args({0, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cachegen

// main(): core/bench/bench_main.cpp (the build's provenance in the output).
