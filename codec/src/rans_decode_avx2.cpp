// AVX2 rANS decoder: 8 interleaved lanes per vector, for CPUs without AVX-512. Bit-identical to
// the scalar loop in rans_coder.cpp (tested there); the same tables and symbol lookup as the
// AVX-512 kernel (rans_kernels.h, rans_decode_avx512.cpp). Per step of 8 lanes:
//   slot = x & mask; two 4-qword gathers from the bucket table give s, s's range and s + 1's
//   end; lanes past s's range take s + 1; lanes past two boundaries walk the range table;
//   x = freq * (x >> precision) + slot - start;
//   refill, per half of 4 lanes: n_i = (x < L) + (x < L / 256) bytes; the two 4-bit lane masks
//   index a 256-entry table of byte shuffles that lift each lane's bytes (first byte high) out of
//   the next 16 bytes of the stream; the upper half reads after the lower half's bytes.
#include <array>
#include <cstring>

#include "cachegen/core/error.h"
#include "rans_kernels.h"
#include "x86_intrinsics.h"

namespace cachegen {

#if defined(__x86_64__)
namespace {
constexpr int kBucketBits = kRansVectorBucketBits;
constexpr int kMaxVectors = 32;  // 256 lanes
using FlatTables = RansVectorTables::Stream;

// Shuffle controls by (one | two << 4), the masks of the 4 lanes that take at least one and
// two bytes: lane j's dword gets, for n = 1, byte o_j in its low byte; for n = 2, byte o_j + 1
// in its low byte and byte o_j above it (o_j: the bytes the lanes below j take). 0x80 zeroes.
struct RefillShuffles {
  alignas(16) std::array<std::array<uint8_t, 16>, 256> control;
  RefillShuffles() {
    for (int key = 0; key < 256; ++key) {
      std::array<uint8_t, 16>& c = control[static_cast<size_t>(key)];
      c.fill(0x80);
      int offset = 0;
      for (int j = 0; j < 4; ++j) {
        const int n = ((key >> j) & 1) + ((key >> (4 + j)) & 1);
        if (n == 1) {
          c[static_cast<size_t>(4 * j)] = static_cast<uint8_t>(offset);
        } else if (n == 2) {
          c[static_cast<size_t>(4 * j)] = static_cast<uint8_t>(offset + 1);
          c[static_cast<size_t>(4 * j + 1)] = static_cast<uint8_t>(offset);
        }
        offset += n;
      }
    }
  }
};
const RefillShuffles refill_shuffles;

#define CACHEGEN_AVX2 __attribute__((target("avx2,popcnt")))

// The batch's streams decode in lock-step, as in the AVX-512 kernel.
template <int N>
CACHEGEN_AVX2 void decode_streams(RansCursor* streams, const FlatTables* tables, int64_t first_row,
                                  int64_t rows, int64_t columns, uint8_t* const* out,
                                  int64_t stride, int lanes, int precision) {
  const int vectors = lanes / 8;
  const int64_t groups = columns / lanes;
  const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i one_v = _mm256_set1_epi32(1);
  const __m256i low16 = _mm256_set1_epi32(0xffff), low8 = _mm256_set1_epi32(0xff);
  const __m256i slot_mask = _mm256_set1_epi32(static_cast<int>((1u << precision) - 1));
  const __m128i to_bucket = _mm_cvtsi32_si128(precision - kBucketBits);
  const __m128i to_quotient = _mm_cvtsi32_si128(precision);
  const __m256i low_limit = _mm256_set1_epi32(static_cast<int>(kRansLow));
  const __m256i high_limit = _mm256_set1_epi32(static_cast<int>(kRansLow >> 8));
  const __m256i eight = _mm256_set1_epi32(8);
  // Byte k of dword j (k = 0) to byte j, for the symbol store.
  const __m256i pack_bytes =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  __m256i x[N][kMaxVectors];
  const uint8_t* ptr[N];
  for (int b = 0; b < N; ++b) {
    ptr[b] = streams[b].ptr;
    for (int v = 0; v < vectors; ++v)
      x[b][v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(streams[b].state + 8 * v));
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int v = 0; v < vectors; ++v) {
        const int64_t k = g * lanes + 8 * v;
        const __m256i column = _mm256_add_epi32(lane_index, _mm256_set1_epi32(static_cast<int>(k)));
        const __m256i bucket_base = _mm256_slli_epi32(column, kBucketBits);
        const __m256i range_base = _mm256_slli_epi32(column, 5);  // 32 ranges a column
        __m256i slot[N], index[N], packed[N];
        for (int b = 0; b < N; ++b) {
          slot[b] = _mm256_and_si256(x[b][v], slot_mask);
          const __m256i bucket =
              _mm256_add_epi32(bucket_base, _mm256_srl_epi32(slot[b], to_bucket));
          const auto* base = reinterpret_cast<const long long*>(tables[b].bucket.data());
          const __m256i low = _mm256_i32gather_epi64(base, _mm256_castsi256_si128(bucket), 8);
          const __m256i high = _mm256_i32gather_epi64(base, _mm256_extracti128_si256(bucket, 1), 8);
          // [p0 i0 p1 i1 p2 i2 p3 i3], [p4 i4 ...] -> [p0 .. p7] and [i0 .. i7]
          const __m256 low_f = _mm256_castsi256_ps(low), high_f = _mm256_castsi256_ps(high);
          packed[b] = _mm256_permute4x64_epi64(
              _mm256_castps_si256(_mm256_shuffle_ps(low_f, high_f, 0x88)), 0xD8);
          const __m256i info = _mm256_permute4x64_epi64(
              _mm256_castps_si256(_mm256_shuffle_ps(low_f, high_f, 0xDD)), 0xD8);
          index[b] = _mm256_add_epi32(range_base, _mm256_and_si256(info, low8));
          // Past s's last slot: s + 1, whose range runs from s's last slot + 1 to its own.
          const __m256i last = _mm256_and_si256(packed[b], low16);
          const __m256i behind = _mm256_cmpgt_epi32(slot[b], last);  // (both < 2^16)
          const __m256i next_last = _mm256_and_si256(_mm256_srli_epi32(info, 8), low16);
          const __m256i next = _mm256_or_si256(
              next_last,
              _mm256_slli_epi32(_mm256_sub_epi32(_mm256_sub_epi32(next_last, last), one_v), 16));
          index[b] = _mm256_sub_epi32(index[b], behind);  // behind is -1
          packed[b] = _mm256_blendv_epi8(packed[b], next, behind);
        }
        // Lanes still behind walk on through the range table, one at a time.
        for (int b = 0; b < N; ++b) {
          const int behind = _mm256_movemask_ps(
              _mm256_castsi256_ps(_mm256_cmpgt_epi32(slot[b], _mm256_and_si256(packed[b], low16))));
          if (behind) {
            alignas(32) uint32_t lane_index_of[8], lane_packed[8], lane_slot[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(lane_index_of), index[b]);
            _mm256_store_si256(reinterpret_cast<__m256i*>(lane_packed), packed[b]);
            _mm256_store_si256(reinterpret_cast<__m256i*>(lane_slot), slot[b]);
            rans_walk_lanes(static_cast<unsigned>(behind), tables[b].range.data(), lane_slot,
                            lane_index_of, lane_packed);
            index[b] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lane_index_of));
            packed[b] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lane_packed));
          }
        }
        for (int b = 0; b < N; ++b) {
          const __m256i freq = _mm256_add_epi32(_mm256_srli_epi32(packed[b], 16), one_v);
          // slot - start, with start = last + 1 - freq
          const __m256i offset_in_range =
              _mm256_sub_epi32(_mm256_add_epi32(slot[b], freq),
                               _mm256_add_epi32(_mm256_and_si256(packed[b], low16), one_v));
          x[b][v] = _mm256_add_epi32(
              _mm256_mullo_epi32(freq, _mm256_srl_epi32(x[b][v], to_quotient)), offset_in_range);
          const __m256i symbol_bytes = _mm256_shuffle_epi8(
              _mm256_and_si256(index[b], _mm256_set1_epi32(kRansVectorAlphabet - 1)), pack_bytes);
          const uint64_t eight_symbols =
              static_cast<uint32_t>(_mm256_extract_epi32(symbol_bytes, 0)) |
              static_cast<uint64_t>(static_cast<uint32_t>(_mm256_extract_epi32(symbol_bytes, 4)))
                  << 32;
          std::memcpy(out[b] + r * stride + k, &eight_symbols, 8);
        }
        // Refill, 4 lanes at a time from the table of shuffles.
        for (int b = 0; b < N; ++b) {
          // Signed compares: states stay below 2^31 (RansBatchDecoder checks where they start).
          const __m256i one = _mm256_cmpgt_epi32(low_limit, x[b][v]);
          const __m256i two = _mm256_cmpgt_epi32(high_limit, x[b][v]);
          const unsigned one_mask =
              static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(one)));
          const unsigned two_mask =
              static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(two)));
          const int low_bytes =
              __builtin_popcount(one_mask & 15) + __builtin_popcount(two_mask & 15);
          const int total = __builtin_popcount(one_mask) + __builtin_popcount(two_mask);
          const int64_t remaining = streams[b].end - ptr[b];
          alignas(16) uint8_t padded[32];
          const uint8_t* source = ptr[b];
          if (remaining < 32) {  // the two 16-byte reads must stay inside the stream
            if (remaining < total) {
              fail("rANS stream at byte offset ", streams[b].file_offset,
                   ": runs out of bytes at row ", first_row + r, ", column ", k, " (corrupted)");
            }
            std::memset(padded, 0, sizeof padded);
            std::memcpy(padded, ptr[b], static_cast<size_t>(remaining));
            source = padded;
          }
          const auto* control = refill_shuffles.control.data();
          const __m128i low_part =
              _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(source)),
                               _mm_load_si128(reinterpret_cast<const __m128i*>(
                                   control[(one_mask & 15) | (two_mask & 15) << 4].data())));
          const __m128i high_part = _mm_shuffle_epi8(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + low_bytes)),
              _mm_load_si128(reinterpret_cast<const __m128i*>(
                  control[(one_mask >> 4) | (two_mask >> 4) << 4].data())));
          const __m256i word =
              _mm256_inserti128_si256(_mm256_castsi128_si256(low_part), high_part, 1);
          const __m256i bits =
              _mm256_add_epi32(_mm256_and_si256(one, eight), _mm256_and_si256(two, eight));
          x[b][v] = _mm256_or_si256(_mm256_sllv_epi32(x[b][v], bits), word);
          ptr[b] += total;
        }
      }
    }
  }
  for (int b = 0; b < N; ++b) {
    streams[b].ptr = ptr[b];
    for (int v = 0; v < vectors; ++v)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(streams[b].state + 8 * v), x[b][v]);
  }
}
}  // namespace

void rans_decode_avx2(RansCursor* streams, int count, const RansVectorTables& tables,
                      int64_t first_row, int64_t rows, int64_t columns, uint8_t* const* out,
                      int64_t stride, int lanes) {
  rans_for_batch_size(count, [&](auto n) {
    decode_streams<decltype(n)::value>(streams, tables.streams, first_row, rows, columns, out,
                                       stride, lanes, tables.precision);
  });
}

#else  // not x86-64: the dispatcher never calls it

void rans_decode_avx2(RansCursor*, int, const RansVectorTables&, int64_t, int64_t, int64_t,
                      uint8_t* const*, int64_t, int) {}

#endif

}  // namespace cachegen
