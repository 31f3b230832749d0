// Prefill speed and memory (Google Benchmark): tokens per second and the process's peak
// resident memory during one prefill, at 1K, 4K and 8K tokens, f32, all cores.
//
// The model is the built-in one (models/builtin) when it exists, otherwise a random-weight
// model of the first built-in model's shape (4 layers, hidden 256, 4 heads, 2 KV heads,
// SwiGLU 768, vocab 4096). Peak memory includes the ~0.4 GiB that libtorch and the process
// hold before any prefill.
//
//   build/bin/prefill_bench
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>

#include "cachegen/models/llama_model.h"

namespace cachegen {
namespace {

ModelConfig builtin_shape() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 4096;
  c.hidden_size = 256;
  c.intermediate_size = 768;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.max_position_embeddings = 2048;
  c.rope_theta = 10000;
  return c;
}

LlamaModel& model() {
  static std::unique_ptr<LlamaModel> m = [] {
    const std::string dir = CACHEGEN_SOURCE_DIR "/models/builtin";
    ModelLoadOptions options{"cpu", "f32", 0};
    if (std::ifstream(dir + "/config.json").good())
      return LlamaModel::load(dir, options);
    return LlamaModel::random(builtin_shape(), 1, options);
  }();
  return *m;
}

// Peak resident set since the last reset, in MiB (Linux: /proc/self/status VmHWM).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stod(line.substr(6)) / 1024;
  }
  return 0;
}
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

void BM_Prefill(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  LlamaModel& m = model();
  std::vector<int32_t> ids(static_cast<size_t>(tokens));
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<int32_t>((static_cast<int64_t>(i) * 7919) % m.vocab_size());
  double peak = 0;
  for (auto _ : state) {
    reset_peak_rss();
    PrefillResult r = m.prefill(ids, nullptr, false);
    benchmark::DoNotOptimize(r.logits.data());
    peak = std::max(peak, peak_rss_mib());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = peak;
  state.SetLabel(m.name());
}
BENCHMARK(BM_Prefill)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(8192)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MinTime(2);

}  // namespace
}  // namespace cachegen

// main(): core/bench/bench_main.cpp (the build's provenance in the output).
