// AVX-512 rANS decoder: 16 interleaved lanes per vector. Bit-identical to the scalar loop in
// rans_coder.cpp (tested there). Per step of 16 lanes:
//   slot = x & mask; one qword gather from the column's bucket table (2^kBucketBits buckets)
//   gives the first symbol s whose range reaches the slot's bucket, s's range, and where s + 1's
//   range ends; a lane whose slot lies past s's range takes s + 1 from the same qword. Only a
//   slot past two boundaries of its bucket (rare: the symbols between are improbable) walks on
//   through the per-symbol range table, lane by lane (tables: rans_kernels.h);
//   x = freq * (x >> precision) + slot - start;
//   refill: lane i needs n_i = (x < L) + (x < L / 256) bytes; its bytes start at the exclusive
//   prefix sum of n over lanes below it (a popcount of the two lane masks), and one byte permute
//   (VBMI) lifts each lane's bytes out of the next 64 bytes of the stream.
#include "cachegen/core/error.h"
#include "rans_kernels.h"
#include "x86_intrinsics.h"

namespace cachegen {

#if defined(__x86_64__)
namespace {
constexpr int kBucketBits = kRansVectorBucketBits;
constexpr int kMaxVectors = 16;  // 256 lanes
using FlatTables = RansVectorTables::Stream;

#define CACHEGEN_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vpopcntdq")))

// The batch's streams decode in lock-step, each stage of a vector step issued for all N streams
// before the next stage, so that their independent gathers and multiplies overlap (one stream's
// step is a chain of ~120 cycles of latency). The refill is branch-free; the symbol walk runs
// only in the steps where a lane needs it.
template <int N>
CACHEGEN_AVX512 void decode_streams(RansCursor* streams, const FlatTables* tables,
                                    int64_t first_row, int64_t rows, int64_t columns,
                                    uint8_t* const* out, int64_t stride, int lanes, int precision) {
  const int vectors = lanes / 16;
  const int64_t groups = columns / lanes;
  const __m512i lane_index =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i one_v = _mm512_set1_epi32(1);
  const __m512i low16 = _mm512_set1_epi32(0xffff);
  const __m512i slot_mask = _mm512_set1_epi32(static_cast<int>((1u << precision) - 1));
  // Per lane i: the bits of the lanes below it, and its own, in both halves of a mask dword.
  const __m512i below_low = _mm512_sub_epi32(_mm512_sllv_epi32(one_v, lane_index), one_v);
  const __m512i below = _mm512_or_si512(below_low, _mm512_slli_epi32(below_low, 16));
  const __m512i own_low = _mm512_sllv_epi32(one_v, lane_index);
  const __m512i own_bits = _mm512_or_si512(own_low, _mm512_slli_epi32(own_low, 16));
  const __m512i shift_v = _mm512_set1_epi32(precision);
  const __m512i even_dwords =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_dwords = _mm512_add_epi32(even_dwords, one_v);
  const __m512i low8 = _mm512_set1_epi32(0xff);
  const __m128i to_bucket = _mm_cvtsi32_si128(precision - kBucketBits);
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
        const __m512i bucket_base = _mm512_slli_epi32(column, kBucketBits);
        const __m512i range_base = _mm512_slli_epi32(column, 5);  // 32 ranges a column
        __m512i slot[N], index[N], packed[N];
        __mmask16 behind[N];
        for (int b = 0; b < N; ++b) {
          slot[b] = _mm512_and_si512(x[b][v], slot_mask);
          const __m512i bucket =
              _mm512_add_epi32(bucket_base, _mm512_srl_epi32(slot[b], to_bucket));
          const __m512i low =
              _mm512_i32gather_epi64(_mm512_castsi512_si256(bucket), tables[b].bucket.data(), 8);
          const __m512i high = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(bucket, 1),
                                                      tables[b].bucket.data(), 8);
          packed[b] = _mm512_permutex2var_epi32(low, even_dwords, high);
          const __m512i info = _mm512_permutex2var_epi32(low, odd_dwords, high);
          index[b] = _mm512_add_epi32(range_base, _mm512_and_si512(info, low8));
          // Past s's last slot: s + 1, whose range runs from s's last slot + 1 to its own.
          const __m512i last = _mm512_and_si512(packed[b], low16);
          behind[b] = _mm512_cmplt_epu32_mask(last, slot[b]);
          const __m512i next_last = _mm512_and_si512(_mm512_srli_epi32(info, 8), low16);
          const __m512i next = _mm512_or_si512(
              next_last,
              _mm512_slli_epi32(_mm512_sub_epi32(_mm512_sub_epi32(next_last, last), one_v), 16));
          index[b] = _mm512_mask_add_epi32(index[b], behind[b], index[b], one_v);
          packed[b] = _mm512_mask_mov_epi32(packed[b], behind[b], next);
        }
        // Lanes still behind (a zero-frequency s + 1, or a second boundary before the slot) walk
        // on through the range table, one lane at a time: few lanes of a step ever need it.
        for (int b = 0; b < N; ++b) {
          behind[b] = _mm512_cmplt_epu32_mask(_mm512_and_si512(packed[b], low16), slot[b]);
          if (behind[b]) {
            alignas(64) uint32_t lane_index_of[16], lane_packed[16], lane_slot[16];
            _mm512_store_si512(lane_index_of, index[b]);
            _mm512_store_si512(lane_packed, packed[b]);
            _mm512_store_si512(lane_slot, slot[b]);
            rans_walk_lanes(static_cast<unsigned>(behind[b]), tables[b].range.data(), lane_slot,
                            lane_index_of, lane_packed);
            index[b] = _mm512_load_si512(lane_index_of);
            packed[b] = _mm512_load_si512(lane_packed);
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
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b] + r * stride + k),
                           _mm512_cvtepi32_epi8(_mm512_and_si512(
                               index[b], _mm512_set1_epi32(kRansVectorAlphabet - 1))));
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
                   ": runs out of bytes at row ", first_row + r, ", column ", k, " (corrupted)");
            }
            bytes = _mm512_maskz_loadu_epi8((__mmask64{1} << remaining) - 1, ptr[b]);
          }
          // Both masks in one dword (lane i's bits i and 16 + i): the lanes' byte counts and
          // their exclusive prefix sums are popcounts of it under two lane patterns.
          const __m512i masks = _mm512_set1_epi32(static_cast<int>(one | uint32_t{two} << 16));
          const __m512i offset = _mm512_popcnt_epi32(_mm512_and_si512(masks, below));
          const __m512i bits =
              _mm512_slli_epi32(_mm512_popcnt_epi32(_mm512_and_si512(masks, own_bits)), 3);
          // Each lane's dword gets byte[offset] << 8 | byte[offset + 1] in its low 16 bits.
          const __m512i byte_index =
              _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(offset, 8), offset), one_v);
          const __m512i word = _mm512_and_si512(_mm512_permutexvar_epi8(byte_index, bytes), low16);
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

}  // namespace

void rans_decode_avx512(RansCursor* streams, int count, const RansVectorTables& tables,
                        int64_t first_row, int64_t rows, int64_t columns, uint8_t* const* out,
                        int64_t stride, int lanes) {
  rans_for_batch_size(count, [&](auto n) {
    decode_streams<decltype(n)::value>(streams, tables.streams, first_row, rows, columns, out,
                                       stride, lanes, tables.precision);
  });
}

#else  // not x86-64: the dispatcher never calls it

void rans_decode_avx512(RansCursor*, int, const RansVectorTables&, int64_t, int64_t, int64_t,
                        uint8_t* const*, int64_t, int) {}

#endif

}  // namespace cachegen
