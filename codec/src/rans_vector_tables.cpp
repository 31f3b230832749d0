// The vector rANS decoders' lookup tables (layout in rans_kernels.h), and which kernel kAuto
// takes on this CPU.
#include <algorithm>

#include "cachegen/core/cpu_level.h"
#include "rans_kernels.h"

namespace cachegen {

namespace {
// One spare set of tables per thread: a chunk decodes batch after batch on each thread, and
// reusing the buffers saves allocating (and faulting in) ~300 KB per batch.
thread_local std::unique_ptr<RansVectorTables> spare_tables;
}  // namespace

void RansVectorTablesDeleter::operator()(RansVectorTables* tables) const {
  if (!spare_tables)
    spare_tables.reset(tables);
  else
    delete tables;
}

RansVectorTablesPtr rans_vector_tables(const RansCursor* streams, int count, int64_t columns,
                                       int lanes, int lane_multiple) {
  if (lanes % lane_multiple != 0 || lanes > 256 || count > kRansVectorMaxBatch || count < 1)
    return nullptr;
  RansVectorTablesPtr out(spare_tables ? spare_tables.release() : new RansVectorTables);
  const int precision = streams[0].tables[0]->precision();
  out->precision = precision;
  constexpr int buckets = 1 << kRansVectorBucketBits;
  for (int b = 0; b < count; ++b) {
    RansVectorTables::Stream& t = out->streams[b];
    t.bucket.resize(static_cast<size_t>(columns * buckets));
    t.range.resize(static_cast<size_t>(columns * kRansVectorAlphabet));
    for (int64_t k = 0; k < columns; ++k) {
      const FreqTable& table = *streams[b].tables[k];
      if (table.alphabet() > kRansVectorAlphabet || table.precision() != precision ||
          table.buckets().size() != 256)
        return nullptr;
      const std::vector<uint32_t>& cdf = table.cdf();
      const int alphabet = table.alphabet();
      uint32_t* range = t.range.data() + k * kRansVectorAlphabet;
      for (int i = 0; i < alphabet; ++i) {
        const uint32_t last =
            cdf[static_cast<size_t>(i) + 1] == 0 ? 0 : cdf[static_cast<size_t>(i) + 1] - 1;
        const uint32_t freq = table.freq(i) == 0 ? 0 : table.freq(i) - 1;
        range[i] = last | freq << 16;
      }
      uint64_t* bucket = t.bucket.data() + k * buckets;
      for (int i = 0; i < buckets; ++i) {
        const int first = table.buckets()[static_cast<size_t>(i) << (8 - kRansVectorBucketBits)];
        const int next = std::min(first + 1, alphabet - 1);
        bucket[i] = range[first] |
                    uint64_t{static_cast<uint32_t>(first) | (range[next] & 0xffff) << 8} << 32;
      }
    }
  }
  return out;
}

bool rans_kernel_supported(RansKernel kernel) {
#if defined(__x86_64__)
  static const bool avx512 =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
      __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vbmi2");  // the encoder's byte compress
  static const bool avx2 = __builtin_cpu_supports("avx2");
  switch (kernel) {
    case RansKernel::kAvx512:
      return avx512;
    case RansKernel::kAvx2:
      return avx2;
    default:
      return true;
  }
#else
  return kernel == RansKernel::kAuto || kernel == RansKernel::kScalar;
#endif
}

RansKernel rans_auto_kernel() {
  if (cpu_level_allowed(CpuLevel::kAvx512) && rans_kernel_supported(RansKernel::kAvx512))
    return RansKernel::kAvx512;
  if (cpu_level_allowed(CpuLevel::kAvx2) && rans_kernel_supported(RansKernel::kAvx2))
    return RansKernel::kAvx2;
  return RansKernel::kScalar;
}

}  // namespace cachegen
