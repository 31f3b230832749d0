// AVX-512 rANS decoder: 16 interleaved lanes per vector. Bit-identical to the scalar loop in
// rans_coder.cpp (tested there). Per step of 16 lanes:
//   slot = x & mask; the symbol comes from the column's bucket table (the first symbol whose
//   range reaches slot's 1/256th of the range: one byte gather), then is corrected upward while
//   its range ends at or below slot (one gather of the symbol's packed range per round; most
//   steps need none or one);
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
#include "x86_intrinsics.h"

namespace cachegen {

#if defined(__x86_64__)
namespace {
constexpr int kAlphabet = 32;    // packed ranges per column (alphabets of at most 32 symbols)
constexpr int kBuckets = 256;    // bucket table entries per column
constexpr int kMaxVectors = 16;  // 256 lanes
constexpr int kMaxBatch = 8;

#define CACHEGEN_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vpopcntdq")))

// Per-stream tables, column-major. bucket[k * 256 + b]: the first symbol s of column k with
// cdf[s + 1] > b << (precision - 8) (3 bytes of padding at the end: the byte gather reads
// dwords). range[k * 32 + s] = (cdf[s + 1] - 1) | (freq - 1) << 16: the symbol's last slot and
// its frequency (cdf[s + 1] >= 1 for every symbol a lookup can reach, as the bucket table
// starts at the first symbol of non-zero frequency; a zero frequency is never decoded, so its
// field does not matter).
struct FlatTables {
  std::vector<uint8_t> bucket;
  std::vector<uint32_t> range;
};

// The batch's streams decode in lock-step, each stage of a vector step issued for all N streams
// before the next stage, so that their independent gathers and multiplies overlap (one stream's
// step is a chain of ~120 cycles of latency). The refill is branch-free; the symbol correction
// loops only in the rare step where one round was not enough.
template <int N>
CACHEGEN_AVX512 void decode_streams(RansCursor* streams, const FlatTables* tables, int64_t rows,
                                    int64_t columns, int64_t stride, int lanes, int precision) {
  const int vectors = lanes / 16;
  const int64_t groups = columns / lanes;
  const __m512i lane_index =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i one_v = _mm512_set1_epi32(1);
  const __m512i low16 = _mm512_set1_epi32(0xffff);
  const __m512i slot_mask = _mm512_set1_epi32(static_cast<int>((1u << precision) - 1));
  const __m512i below = _mm512_sub_epi32(_mm512_sllv_epi32(one_v, lane_index), one_v);
  const __m512i shift_v = _mm512_set1_epi32(precision);
  __m512i x[N][kMaxVectors];
  const uint8_t* ptr[N];
  for (int b = 0; b < N; ++b) {
    ptr[b] = streams[b].ptr;
    for (int v = 0; v < vectors; ++v)
      x[b][v] = _mm512_loadu_si512(streams[b].state + 16 * v);
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int v = 0; v < vectors; ++v) {
        const int64_t k = g * lanes + 16 * v;
        const __m512i column = _mm512_add_epi32(lane_index, _mm512_set1_epi32(static_cast<int>(k)));
        const __m512i bucket_base = _mm512_slli_epi32(column, 8);
        const __m512i range_base = _mm512_slli_epi32(column, 5);
        __m512i slot[N], index[N], packed[N];
        __mmask16 behind[N];
        for (int b = 0; b < N; ++b) {
          slot[b] = _mm512_and_si512(x[b][v], slot_mask);
          const __m512i bucket =
              _mm512_add_epi32(bucket_base, _mm512_srli_epi32(slot[b], precision - 8));
          index[b] = _mm512_add_epi32(
              range_base,
              _mm512_and_si512(_mm512_i32gather_epi32(bucket, tables[b].bucket.data(), 1),
                               _mm512_set1_epi32(0xff)));
        }
        for (int b = 0; b < N; ++b)
          packed[b] = _mm512_i32gather_epi32(index[b], tables[b].range.data(), 4);
        // Lanes whose symbol ends below slot (its last slot < slot) move to the next symbol.
        for (int b = 0; b < N; ++b) {
          behind[b] = _mm512_cmplt_epu32_mask(_mm512_and_si512(packed[b], low16), slot[b]);
          while (behind[b]) {
            index[b] = _mm512_mask_add_epi32(index[b], behind[b], index[b], one_v);
            packed[b] = _mm512_mask_i32gather_epi32(packed[b], behind[b], index[b],
                                                    tables[b].range.data(), 4);
            behind[b] &= _mm512_cmplt_epu32_mask(_mm512_and_si512(packed[b], low16), slot[b]);
          }
        }
        for (int b = 0; b < N; ++b) {
          const __m512i freq = _mm512_add_epi32(_mm512_srli_epi32(packed[b], 16), one_v);
          // slot - start, with start = last + 1 - freq
          const __m512i offset_in_range =
              _mm512_sub_epi32(_mm512_add_epi32(slot[b], freq),
                               _mm512_add_epi32(_mm512_and_si512(packed[b], low16), one_v));
          x[b][v] = _mm512_add_epi32(_mm512_mullo_epi32(freq, _mm512_srlv_epi32(x[b][v], shift_v)),
                                     offset_in_range);
          _mm_storeu_si128(
              reinterpret_cast<__m128i*>(streams[b].symbols + r * stride + k),
              _mm512_cvtepi32_epi8(_mm512_and_si512(index[b], _mm512_set1_epi32(kAlphabet - 1))));
        }
        // Refill: lane i takes n_i = (x < L) + (x < L / 256) bytes at the prefix sum of n over
        // the lanes below it; one byte permute lifts them out of the next 64 bytes.
        for (int b = 0; b < N; ++b) {
          const __mmask16 one =
              _mm512_cmplt_epu32_mask(x[b][v], _mm512_set1_epi32(static_cast<int>(kRansLow)));
          const __mmask16 two =
              _mm512_cmplt_epu32_mask(x[b][v], _mm512_set1_epi32(static_cast<int>(kRansLow >> 8)));
          const int total = __builtin_popcount(one) + __builtin_popcount(two);
          const int64_t remaining = streams[b].end - ptr[b];
          __m512i bytes;
          if (remaining >= 64) {
            bytes = _mm512_loadu_si512(ptr[b]);
          } else {
            if (remaining < total) {
              fail("rANS stream at byte offset ", streams[b].file_offset,
                   ": runs out of bytes at row ", r, ", column ", k, " (corrupted)");
            }
            bytes = _mm512_maskz_loadu_epi8((__mmask64{1} << remaining) - 1, ptr[b]);
          }
          const __m512i offset = _mm512_add_epi32(
              _mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(one), below)),
              _mm512_popcnt_epi32(_mm512_and_si512(_mm512_set1_epi32(two), below)));
          // Each lane's dword gets byte[offset] << 8 | byte[offset + 1] in its low 16 bits.
          const __m512i byte_index =
              _mm512_add_epi32(_mm512_mullo_epi32(offset, _mm512_set1_epi32(257)), one_v);
          const __m512i word = _mm512_and_si512(_mm512_permutexvar_epi8(byte_index, bytes), low16);
          const __m512i bits = _mm512_add_epi32(_mm512_maskz_mov_epi32(one, _mm512_set1_epi32(8)),
                                                _mm512_maskz_mov_epi32(two, _mm512_set1_epi32(8)));
          x[b][v] = _mm512_or_si512(
              _mm512_sllv_epi32(x[b][v], bits),
              _mm512_srlv_epi32(word, _mm512_sub_epi32(_mm512_set1_epi32(16), bits)));
          ptr[b] += total;
        }
      }
    }
  }
  for (int b = 0; b < N; ++b) {
    streams[b].ptr = ptr[b];
    for (int v = 0; v < vectors; ++v)
      _mm512_storeu_si512(streams[b].state + 16 * v, x[b][v]);
  }
}

void decode(RansCursor* streams, int count, const FlatTables* tables, int64_t rows, int64_t columns,
            int64_t stride, int lanes, int precision) {
  switch (count) {
#define CACHEGEN_DECODE_CASE(n) \
  case n:                       \
    return decode_streams<n>(streams, tables, rows, columns, stride, lanes, precision);
    CACHEGEN_DECODE_CASE(1)
    CACHEGEN_DECODE_CASE(2)
    CACHEGEN_DECODE_CASE(3)
    CACHEGEN_DECODE_CASE(4)
    CACHEGEN_DECODE_CASE(5)
    CACHEGEN_DECODE_CASE(6)
    CACHEGEN_DECODE_CASE(7)
    CACHEGEN_DECODE_CASE(8)
#undef CACHEGEN_DECODE_CASE
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
    t.bucket.assign(static_cast<size_t>(columns * kBuckets) + 3, 0);
    t.range.assign(static_cast<size_t>(columns * kAlphabet), 0);
    for (int64_t k = 0; k < columns; ++k) {
      const FreqTable& table = *streams[b].tables[k];
      if (table.alphabet() > kAlphabet || table.precision() != precision ||
          table.buckets().size() != kBuckets)
        return 0;
      const std::vector<uint32_t>& cdf = table.cdf();
      std::memcpy(t.bucket.data() + k * kBuckets, table.buckets().data(), kBuckets);
      for (int i = 0; i < table.alphabet(); ++i) {
        const uint32_t last =
            cdf[static_cast<size_t>(i) + 1] == 0 ? 0 : cdf[static_cast<size_t>(i) + 1] - 1;
        const uint32_t freq = table.freq(i) == 0 ? 0 : table.freq(i) - 1;
        t.range[static_cast<size_t>(k * kAlphabet + i)] = last | freq << 16;
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
      __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vbmi2");  // the encoder's byte compress
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
