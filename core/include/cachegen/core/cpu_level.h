// How wide the run-time-dispatched CPU kernels may go (rANS coding, symbol lookups, quantization
// rows, f16 conversions, the kvtc transform). Each picks the widest path the CPU has, capped by
// the environment variable CACHEGEN_CPU_LEVEL:
//   avx512 (or unset): no cap;  avx2: no AVX-512 path;  scalar: the plain loops only.
// So one machine can test and benchmark what a CPU without AVX-512 (or AVX2) runs:
//   CACHEGEN_CPU_LEVEL=avx2 build/bin/codec_bench --benchmark_filter=DecodeInto
// (The compiler's own -march still applies to plain loops.)
#pragma once

namespace cachegen {

enum class CpuLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The cap, read from the environment once. An unknown value throws Error naming the variable
// and the values it takes.
CpuLevel cpu_level_cap();
// level <= the cap.
bool cpu_level_allowed(CpuLevel level);

}  // namespace cachegen
