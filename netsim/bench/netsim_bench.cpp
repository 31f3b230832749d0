// Network model speed (Google Benchmark).
//   BM_Ns3/<Mbps>: wall seconds per simulated GB of TCP transfer (MTU 1500, RTT 2 ms).
//   BM_Fluid: chunk transfers per second over a 1000-point trace.
//
//   build/bin/netsim_bench
#include <benchmark/benchmark.h>

#include "cachegen/netsim/fluid_network.h"
#include "cachegen/netsim/trace_io.h"
#if CACHEGEN_HAVE_NS3
#include "cachegen/netsim/ns3_network.h"
#endif

namespace cachegen {
namespace {

#if CACHEGEN_HAVE_NS3
void BM_Ns3(benchmark::State& state) {
  const double gbps = static_cast<double>(state.range(0)) / 1000;
  const uint64_t bytes = 100'000'000;
  for (auto _ : state) {
    NetworkConfig c;
    c.trace = constant_trace(gbps);
    c.rtt_s = 0.002;
    Ns3Network net(c);
    benchmark::DoNotOptimize(net.transfer(bytes, 0));
  }
  // Simulated GB per wall second, inverted: wall seconds per simulated GB.
  state.counters["wall_s_per_GB"] = benchmark::Counter(
      static_cast<double>(bytes) / 1e9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Ns3)->Arg(1000)->Arg(10000)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
#endif

void BM_Fluid(benchmark::State& state) {
  NetworkConfig c;
  c.trace = uniform_trace(0.1, 10, 0.01, 10, 1);  // 1000 points
  c.rtt_s = 0.002;
  FluidNetwork net(c);
  double t = 0;
  for (auto _ : state) {
    t = net.transfer(1'000'000, t);
    if (t > 9) {  // stay inside the trace's varying part
      state.PauseTiming();
      net = FluidNetwork(c);
      t = 0;
      state.ResumeTiming();
    }
  }
  state.counters["transfers/s"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Fluid);

}  // namespace
}  // namespace cachegen

// main(): core/bench/bench_main.cpp (the build's provenance in the output).
