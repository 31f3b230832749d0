// main() of the Google Benchmark binaries (codec_bench, netsim_bench, prefill_bench): the
// build's provenance in the output's context (revision at build time, dirty flag, compiler; in
// --benchmark_format=json under "context"), then the benchmarks as BENCHMARK_MAIN runs them.
#include <benchmark/benchmark.h>

#include "cachegen/core/build_info.h"

int main(int argc, char** argv) {
  const cachegen::BuildInfo& build = cachegen::build_info();
  benchmark::AddCustomContext("cachegen_revision", build.revision);
  benchmark::AddCustomContext("cachegen_dirty", build.dirty ? "true" : "false");
  benchmark::AddCustomContext("cachegen_compiler", build.compiler);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
