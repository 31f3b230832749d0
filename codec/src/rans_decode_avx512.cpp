// AVX-512 rANS decoder: 16 interleaved lanes per vector. Bit-identical to the scalar loop in
// rans_coder.cpp (tested there). Per step of 16 lanes:
//   slot = x & mask; symbol = count of the lane's upper bounds <= slot (one vector compare per
//   bound, tables laid out bound-major); start and frequency by one gather;
//   x = freq * (x >> precision) + slot - start;
//   refill: lane i needs n_i = (x < L) + (x < L / 256) bytes; its bytes start at the exclusive
//   prefix sum of n over lanes below it (popcounts of two lane masks), and one byte permute
//   (VBMI) lifts each lane's bytes out of the next 32 bytes of the stream.
#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "cachegen/core/error.h"
#include "rans_kernels.h"

#if defined(__x86_64__)
// GCC 12 reports false "may be used uninitialized" inside its own AVX-512 intrinsic headers
// (clang has no such warning, and would warn about the unknown name).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace cachegen {

#if defined(__x86_64__)
namespace {
constexpr int kAlphabet = 32;    // upper bounds per column, padded with INT32_MAX
constexpr int kMaxVectors = 16;  // 256 lanes
constexpr int kMaxBatch = 8;

#define CACHEGEN_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vpopcntdq")))

// Per-stream tables. Upper bounds are bound-major per block of 16 columns, so that bound j of 16
// lanes is one aligned vector: upper[(block * 32 + j) * 16 + lane] = cdf[j + 1] of column
// block * 16 + lane (INT32_MAX past the alphabet). start_freq[k * 32 + s] = start | (freq-1) << 16.
struct FlatTables {
  std::vector<int32_t> upper;
  std::vector<uint32_t> start_freq;
  std::vector<int> compares;  // per block: the largest alphabet - 1 among its columns
};

// One vector step: 16 lanes of one stream decode their symbols of columns [k, k + 16).
CACHEGEN_AVX512 inline __m512i step(__m512i x, const FlatTables& t, int64_t k, int precision,
                                    const uint8_t*& ptr, const uint8_t* end, uint8_t* out,
                                    uint64_t file_offset, int64_t row) {
  const __m512i lane_index =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i one_v = _mm512_set1_epi32(1);
  const __m512i slot =
      _mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>((1u << precision) - 1)));
  // The symbol is the number of the lane's upper bounds <= slot: one aligned compare per bound.
  const int64_t block = k / 16;
  const int32_t* bounds = t.upper.data() + block * kAlphabet * 16;
  __m512i s = _mm512_setzero_si512();
  for (int j = 0; j < t.compares[static_cast<size_t>(block)]; ++j) {
    const __mmask16 le = _mm512_cmple_epi32_mask(_mm512_loadu_si512(bounds + 16 * j), slot);
    s = _mm512_mask_add_epi32(s, le, s, one_v);
  }
  const __m512i base =
      _mm512_add_epi32(_mm512_mullo_epi32(lane_index, _mm512_set1_epi32(kAlphabet)),
                       _mm512_set1_epi32(static_cast<int>(k * kAlphabet)));
  const __m512i packed = _mm512_i32gather_epi32(_mm512_add_epi32(base, s), t.start_freq.data(), 4);
  const __m512i freq = _mm512_add_epi32(_mm512_srli_epi32(packed, 16), one_v);
  const __m512i start = _mm512_and_si512(packed, _mm512_set1_epi32(0xffff));
  x = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srlv_epi32(x, _mm512_set1_epi32(precision))),
                       _mm512_sub_epi32(slot, start));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm512_cvtepi32_epi8(s));
  // Refill: lane i takes n_i bytes at the prefix sum of n over the lanes below it.
  const __mmask16 one = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(static_cast<int>(kRansLow)));
  const __mmask16 two =
      _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(static_cast<int>(kRansLow >> 8)));
  const int total = __builtin_popcount(one) + __builtin_popcount(two);
  if (total == 0)
    return x;
  const int64_t remaining = end - ptr;
  if (remaining < total) {
    fail("rANS stream at byte offset ", file_offset, ": runs out of bytes at row ", row,
         ", column ", k, " (corrupted)");
  }
  const __m512i below = _mm512_sub_epi32(_mm512_sllv_epi32(one_v, lane_index), one_v);
  const __m512i offset =
      _mm512_add_epi32(_mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(one), below)),
                       _mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(two), below)));
  const __mmask64 load_mask = remaining >= 64 ? ~__mmask64{0} : (__mmask64{1} << remaining) - 1;
  const __m512i bytes = _mm512_maskz_loadu_epi8(load_mask, ptr);
  // Each lane's dword gets byte[offset] << 8 | byte[offset + 1] in its low 16 bits.
  const __m512i index = _mm512_add_epi32(_mm512_mullo_epi32(offset, _mm512_set1_epi32(257)), one_v);
  const __m512i word =
      _mm512_and_si512(_mm512_permutexvar_epi8(index, bytes), _mm512_set1_epi32(0xffff));
  const __m512i bits = _mm512_add_epi32(_mm512_maskz_mov_epi32(one, _mm512_set1_epi32(8)),
                                        _mm512_maskz_mov_epi32(two, _mm512_set1_epi32(8)));
  x = _mm512_or_si512(_mm512_sllv_epi32(x, bits),
                      _mm512_srlv_epi32(word, _mm512_sub_epi32(_mm512_set1_epi32(16), bits)));
  ptr += total;
  return x;
}

CACHEGEN_AVX512 void decode(RansCursor* streams, int count, const FlatTables* tables, int64_t rows,
                            int64_t columns, int64_t stride, int lanes, int precision) {
  const int vectors = lanes / 16;
  const int64_t groups = columns / lanes;
  __m512i x[kMaxBatch][kMaxVectors];
  const uint8_t* ptr[kMaxBatch];
  for (int b = 0; b < count; ++b) {
    ptr[b] = streams[b].ptr;
    for (int v = 0; v < vectors; ++v)
      x[b][v] = _mm512_loadu_si512(streams[b].state + 16 * v);
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int v = 0; v < vectors; ++v) {
        const int64_t k = g * lanes + 16 * v;
        // Streams innermost: their chains are independent, so their latencies overlap.
        for (int b = 0; b < count; ++b) {
          x[b][v] = step(x[b][v], tables[b], k, precision, ptr[b], streams[b].end,
                         streams[b].symbols + r * stride, streams[b].file_offset, r);
        }
      }
    }
  }
  for (int b = 0; b < count; ++b) {
    streams[b].ptr = ptr[b];
    for (int v = 0; v < vectors; ++v)
      _mm512_storeu_si512(streams[b].state + 16 * v, x[b][v]);
  }
}
}  // namespace

int64_t rans_decode_avx512(RansCursor* streams, int count, int64_t rows, int64_t columns,
                           int64_t stride, int lanes) {
  if (lanes % 16 != 0 || lanes > 16 * kMaxVectors || count > kMaxBatch || count < 1)
    return 0;
  const int precision = streams[0].tables[0]->precision();
  FlatTables tables[kMaxBatch];
  for (int b = 0; b < count; ++b) {
    FlatTables& t = tables[b];
    t.upper.assign(static_cast<size_t>(columns * kAlphabet), INT32_MAX);
    t.start_freq.assign(t.upper.size(), 0);
    t.compares.assign(static_cast<size_t>(columns / 16), 0);
    for (int64_t k = 0; k < columns; ++k) {
      const FreqTable& table = *streams[b].tables[k];
      if (table.alphabet() > kAlphabet || table.precision() != precision)
        return 0;
      int& compares = t.compares[static_cast<size_t>(k / 16)];
      compares = std::max(compares, table.alphabet() - 1);
      for (int i = 0; i < table.alphabet(); ++i) {
        auto bound = static_cast<size_t>(((k / 16) * kAlphabet + i) * 16 + k % 16);
        t.upper[bound] = static_cast<int32_t>(table.cdf()[static_cast<size_t>(i) + 1]);
        auto at = static_cast<size_t>(k * kAlphabet + i);
        t.start_freq[at] = table.freq(i) == 0 ? 0 : table.start(i) | (table.freq(i) - 1) << 16;
      }
    }
  }
  decode(streams, count, tables, rows, columns, stride, lanes, precision);
  return rows;
}

bool rans_kernel_supported(RansKernel kernel) {
  if (kernel != RansKernel::kAvx512)
    return true;
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
      __builtin_cpu_supports("avx512vpopcntdq");
  return supported;
}

#else  // not x86-64: only the scalar decoder exists

int64_t rans_decode_avx512(RansCursor*, int, int64_t, int64_t, int64_t, int) {
  return 0;
}

bool rans_kernel_supported(RansKernel kernel) {
  return kernel != RansKernel::kAvx512;
}

#endif

}  // namespace cachegen
