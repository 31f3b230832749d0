// Codec throughput (Google Benchmark). Counters: GB/s of fp16 KV (2 bytes per element, whatever
// the input dtype) and bits per element on the wire. Data: a synthetic chunk shaped like 8 layers
// of a 7B GQA model (1536 tokens, 8 KV heads x 128), f16. Each codec runs on 1 thread and on all
// threads (the second argument). zstd -3 runs on cachegen's level-2 symbols, one frame per
// (layer, kind) laid out channel-major so it sees the same token-wise locality.
//
//   build/bin/codec_bench --benchmark_min_time=1
//   CACHEGEN_CPU_LEVEL=avx2 build/bin/codec_bench ...   (what a CPU without AVX-512 runs)
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/kvtc_calibration.h"
#include "cachegen/codec/level_table.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/cpu_level.h"
#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/parallel.h"
#include "cachegen/core/synthetic_kv.h"
#if CACHEGEN_WITH_KVTC
#include "kvtc/kvtc_synthesis.h"
#endif

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

// " (CACHEGEN_CPU_LEVEL=avx2)" when a cap keeps kernels narrower than the CPU's (cpu_level.h).
std::string cpu_level_label() {
  switch (cpu_level_cap()) {
    case CpuLevel::kScalar:
      return " (CACHEGEN_CPU_LEVEL=scalar)";
    case CpuLevel::kAvx2:
      return " (CACHEGEN_CPU_LEVEL=avx2)";
    default:
      return "";
  }
}

int threads_arg(benchmark::State& state) {
  return state.range(1) == 0 ? 1 : hardware_threads();
}

// The codec of benchmark arguments (case index, threads), with the row's label set.
std::unique_ptr<Codec> bench_codec(benchmark::State& state) {
  const CodecCase& c = kCases[state.range(0)];
  CodecContext context;
  context.threads = threads_arg(state);
  state.SetLabel(std::string(c.codec) + " " + c.params + cpu_level_label() +
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

// Decode into a destination that is already there (decode_into), as a loader assembling a
// context in its KV memory does: no fresh output pages per call.
void BM_DecodeInto(benchmark::State& state) {
  auto codec = bench_codec(state);
  std::vector<uint8_t> encoded = codec->encode(bench_kv(), ChunkPosition{}, nullptr);
  KVCache out(bench_kv().shape(), bench_kv().dtype());
  for (auto _ : state) {
    codec->decode_into(encoded.data(), encoded.size(), 0, out, 0);
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
BENCHMARK(BM_DecodeInto)->Apply(codec_args)->Unit(benchmark::kMillisecond)->UseRealTime();

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

// The rANS coder alone on cachegen's level-2 streams: 4 streams of one (layer, kind) plane, each
// 1536 tokens x 128 channels with per-channel tables and 32 lanes, as the codec batches them.
// GB/s of fp16 KV (2 bytes per symbol) so that it compares with the codec rows. Argument: the
// kernel (0 scalar reference, 1 AVX-512).
struct RansBenchStreams {
  static constexpr int64_t kChannels = 128, kStreams = 4, kLanes = 32;
  int64_t rows = 0;
  std::vector<uint8_t> symbols;   // [kStreams][rows][kChannels]
  std::vector<FreqTable> tables;  // [kStreams][kChannels]
  std::vector<std::vector<uint8_t>> encoded;
};

const RansBenchStreams& rans_bench_streams() {
  static const RansBenchStreams streams = [] {
    RansBenchStreams out;
    const std::vector<uint8_t>& plane = level2_symbols()[0];  // layer 0 keys: 31 symbols
    const KVShape& s = bench_kv().shape();
    out.rows = s.tokens;
    const int alphabet = level_bins(2, static_cast<int>(s.layers)).key[0] - 1;
    for (int64_t b = 0; b < RansBenchStreams::kStreams; ++b) {
      for (int64_t c = 0; c < RansBenchStreams::kChannels; ++c) {
        std::vector<uint32_t> counts(static_cast<size_t>(alphabet), 0);
        for (int64_t t = 0; t < s.tokens; ++t)
          ++counts[plane[static_cast<size_t>((b * RansBenchStreams::kChannels + c) * s.tokens +
                                             t)]];
        out.tables.push_back(FreqTable::from_counts(counts.data(), alphabet, 16, false));
      }
    }
    out.symbols.resize(
        static_cast<size_t>(RansBenchStreams::kStreams * s.tokens * RansBenchStreams::kChannels));
    for (int64_t b = 0; b < RansBenchStreams::kStreams; ++b) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        for (int64_t c = 0; c < RansBenchStreams::kChannels; ++c) {
          out.symbols[static_cast<size_t>((b * s.tokens + t) * RansBenchStreams::kChannels + c)] =
              plane[static_cast<size_t>((b * RansBenchStreams::kChannels + c) * s.tokens + t)];
        }
      }
    }
    for (int64_t b = 0; b < RansBenchStreams::kStreams; ++b) {
      std::vector<const FreqTable*> t;
      for (int64_t c = 0; c < RansBenchStreams::kChannels; ++c)
        t.push_back(&out.tables[static_cast<size_t>(b * RansBenchStreams::kChannels + c)]);
      out.encoded.emplace_back();
      rans_encode(out.symbols.data() + b * s.tokens * RansBenchStreams::kChannels, s.tokens,
                  RansBenchStreams::kChannels, RansBenchStreams::kChannels,
                  RansBenchStreams::kLanes, t.data(), out.encoded.back());
    }
    return out;
  }();
  return streams;
}

void set_rans_counters(benchmark::State& state, const RansBenchStreams& s) {
  const double symbols = static_cast<double>(s.symbols.size());
  size_t bytes = 0;
  for (const auto& e : s.encoded)
    bytes += e.size();
  state.counters["GB/s"] =
      benchmark::Counter(2 * symbols / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bits/el"] = 8.0 * static_cast<double>(bytes) / symbols;
}

std::vector<const FreqTable*> rans_table_pointers(const RansBenchStreams& s) {
  std::vector<const FreqTable*> out;
  for (const FreqTable& t : s.tables)
    out.push_back(&t);
  return out;
}

// Argument: the kernel (0 scalar, 1 AVX2, 2 AVX-512); a CPU without it reports an error row.
RansKernel rans_bench_kernel(benchmark::State& state, const char* what) {
  static const RansKernel kernels[] = {RansKernel::kScalar, RansKernel::kAvx2, RansKernel::kAvx512};
  static const char* names[] = {"scalar", "avx2", "avx512"};
  const RansKernel kernel = kernels[state.range(0)];
  state.SetLabel(std::string(what) + " " + names[state.range(0)]);
  if (!rans_kernel_supported(kernel))
    state.SkipWithError("this CPU lacks the kernel's instructions");
  return kernel;
}

void BM_RansDecode(benchmark::State& state) {
  const RansBenchStreams& s = rans_bench_streams();
  const RansKernel kernel = rans_bench_kernel(state, "rans decode");
  if (state.error_occurred())
    return;
  const std::vector<const FreqTable*> tables = rans_table_pointers(s);
  std::vector<uint8_t> out(s.symbols.size());
  std::vector<RansStream> streams;
  for (int64_t b = 0; b < RansBenchStreams::kStreams; ++b) {
    streams.push_back({s.encoded[static_cast<size_t>(b)].data(),
                       s.encoded[static_cast<size_t>(b)].size(), 0,
                       tables.data() + b * RansBenchStreams::kChannels,
                       out.data() + b * s.rows * RansBenchStreams::kChannels});
  }
  for (auto _ : state) {
    rans_decode_batch(streams.data(), static_cast<int>(streams.size()), s.rows,
                      RansBenchStreams::kChannels, RansBenchStreams::kChannels,
                      RansBenchStreams::kLanes, kernel);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != s.symbols)
    state.SkipWithError("decoded symbols differ from the input");
  set_rans_counters(state, s);
}

// Argument: 0 scalar, 2 AVX-512 (the encoder has no AVX2 kernel).
void BM_RansEncode(benchmark::State& state) {
  const RansBenchStreams& s = rans_bench_streams();
  const RansKernel kernel = rans_bench_kernel(state, "rans encode");
  if (state.error_occurred())
    return;
  const std::vector<const FreqTable*> tables = rans_table_pointers(s);
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    for (int64_t b = 0; b < RansBenchStreams::kStreams; ++b) {
      rans_encode(s.symbols.data() + b * s.rows * RansBenchStreams::kChannels, s.rows,
                  RansBenchStreams::kChannels, RansBenchStreams::kChannels,
                  RansBenchStreams::kLanes, tables.data() + b * RansBenchStreams::kChannels, out,
                  kernel);
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_rans_counters(state, s);
}

BENCHMARK(BM_RansDecode)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RansEncode)->Arg(0)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#if CACHEGEN_WITH_KVTC
// kvtc on a chunk shaped like SmolLM2-135M's (1536 tokens, 30 layers, 3 KV heads x 64), f16, at
// 1.35 bits per coded element: without a calibration (identity, per channel) and with PCA per
// (layer, kind) calibrated on another synthetic sample of the same shape (d = 192); the chunk sits
// mid-context (positions 4096-5631 of 16384), so no token is kept exact. Decode cost
// grows with the coded components per domain (at most d): projection is part of the figure.
// Arguments: (transform 0 identity / 1 PCA, threads 0 one / 1 all).
//
// A real model's KV instead of the synthetic one: CACHEGEN_BENCH_KVTC_KV=kv.safetensors (its
// first 1536 tokens; `cachegen kv` writes one) and CACHEGEN_BENCH_KVTC_CALIBRATION=model.kvtc
// (`cachegen calibrate`, on other texts) for the PCA rows. Synthetic KV decorrelates little, so
// PCA codes nearly every component there; a real model's needs fewer (scripts/codec-tables.sh
// runs both when SmolLM2 is installed).
const char* bench_env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

const KVCache& kvtc_bench_kv(uint64_t seed) {
  static std::map<uint64_t, KVCache> cache;
  auto it = cache.find(seed);
  if (it == cache.end()) {
    if (const char* path = bench_env("CACHEGEN_BENCH_KVTC_KV")) {
      const KVCache real = load_kv(path);
      it = cache.emplace(seed, real.slice_tokens(0, std::min<int64_t>(1536, real.shape().tokens)))
               .first;
      return it->second;
    }
    SyntheticKVSpec spec;
    spec.shape = {30, 1536, 3, 64};
    spec.dtype = DType::kF16;
    spec.seed = seed;
    it = cache.emplace(seed, make_synthetic_kv(spec)).first;
  }
  return it->second;
}

std::unique_ptr<Codec> kvtc_bench_codec(benchmark::State& state) {
  CodecContext context;
  context.threads = threads_arg(state);
  std::string options = "bits=1.35";
  if (state.range(0) == 1) {
    static const std::string path = [] {
      if (const char* given = bench_env("CACHEGEN_BENCH_KVTC_CALIBRATION"))
        return std::string(given);
      if (bench_env("CACHEGEN_BENCH_KVTC_KV"))  // (calibrating on the measured KV would flatter)
        fail("CACHEGEN_BENCH_KVTC_KV needs CACHEGEN_BENCH_KVTC_CALIBRATION (from other texts)");
      KvtcCalibrationSettings settings;
      settings.undo_rope = false;  // (synthetic keys carry no rotation)
      KvtcCalibrator calibrator(kvtc_bench_kv(2).shape(), KeyRotation{}, settings, 0);
      calibrator.add(kvtc_bench_kv(2), 0);
      const std::string file = "/tmp/cachegen-bench-kvtc.calibration";
      write_file_atomic(file, calibrator.finish().serialize());
      return file;
    }();
    options += ";calibration=" + path;
  }
  state.SetLabel(std::string("kvtc ") + (state.range(0) ? "pca" : "identity") +
                 (bench_env("CACHEGEN_BENCH_KVTC_KV") ? " real-kv" : " synthetic-kv") +
                 (state.range(1) ? " all-threads" : " 1-thread"));
  return make_codec("kvtc", Options::parse(options, "bench"), context);
}

void set_kvtc_counters(benchmark::State& state, size_t bytes) {
  const double elements = static_cast<double>(kvtc_bench_kv(1).shape().elements());
  state.counters["GB/s"] =
      benchmark::Counter(2 * elements / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bits/el"] = 8.0 * static_cast<double>(bytes) / elements;
}

void BM_KvtcEncode(benchmark::State& state) {
  auto codec = kvtc_bench_codec(state);
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<uint8_t> out = codec->encode(kvtc_bench_kv(1), ChunkPosition{4096, 16384}, nullptr);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  set_kvtc_counters(state, bytes);
}

void BM_KvtcDecodeInto(benchmark::State& state) {
  auto codec = kvtc_bench_codec(state);
  std::vector<uint8_t> encoded =
      codec->encode(kvtc_bench_kv(1), ChunkPosition{4096, 16384}, nullptr);
  KVCache out(kvtc_bench_kv(1).shape(), DType::kF16);
  for (auto _ : state) {
    codec->decode_into(encoded.data(), encoded.size(), 0, out, 0);
    benchmark::DoNotOptimize(out.data());
  }
  set_kvtc_counters(state, encoded.size());
}

void kvtc_args(benchmark::internal::Benchmark* b) {
  for (int64_t transform : {0, 1})
    for (int64_t threads : {0, 1})
      b->Args({transform, threads});
}

// kvtc's inverse transform alone, per kernel (0 scalar reference, 1 AVX2, 2 AVX-512): one
// SmolLM2-shaped domain (1536 tokens, d = 192, 160 coded components, half the coefficients
// zero, as kvtc's real-KV chunks have at 1.35 bits). GB/s: f16 KV the features stand for.
void BM_KvtcSynthesis(benchmark::State& state) {
  const auto kernel = static_cast<SynthesisKernel>(state.range(0) + 1);
  if (!synthesis_kernel_supported(kernel)) {
    state.SkipWithError("this CPU lacks the kernel's instructions");
    return;
  }
  const int64_t rows = 1536, k = 160, d = 192;
  std::mt19937 rng(7);
  std::vector<int8_t> n(static_cast<size_t>(rows * k));
  for (int8_t& c : n)
    c = rng() % 2 ? static_cast<int8_t>(static_cast<int>(rng() % 7) - 3) : int8_t{0};
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> basis(static_cast<size_t>(k * d)), offset(static_cast<size_t>(d)),
      out(static_cast<size_t>(rows * d));
  for (float& b : basis)
    b = normal(rng);
  for (float& o : offset)
    o = normal(rng);
  for (auto _ : state) {
    kvtc_synthesize(n.data(), k, rows, k, basis.data(), d, offset.data(), out.data(), kernel);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GB/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * d) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kernel == SynthesisKernel::kScalar ? "scalar"
                 : kernel == SynthesisKernel::kAvx2 ? "avx2"
                                                    : "avx512");
}
BENCHMARK(BM_KvtcSynthesis)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(BM_KvtcEncode)->Apply(kvtc_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KvtcDecodeInto)->Apply(kvtc_args)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

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
