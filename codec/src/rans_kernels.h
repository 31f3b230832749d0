// Vector rANS kernels (private to codec/src), selected at run time by rans_coder.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/rans_coder.h"

namespace cachegen {

// AVX-512 (F, BW, DQ, VL, VBMI2) encoder: codes every row of the block (backwards), updating the
// `lanes` states and moving `out` down past the bytes it writes below it (at most 2 per symbol).
// Returns false, doing nothing, when the shape does not suit it (lanes or columns not multiples
// of 16). The caller checks the CPU (rans_kernel_supported).
bool rans_encode_avx512(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                        int lanes, const FreqTable* const* tables, uint32_t* state, uint8_t*& out);

// Streams of a batch, as the decoders track them between blocks of rows.
struct RansCursor {
  const uint8_t* ptr;  // next refill byte
  const uint8_t* end;
  uint64_t file_offset;
  const FreqTable* const* tables;
  uint32_t* state;  // `lanes` states
};

// The vector decoders' lookup tables, per stream of a batch, column-major (rans_vector_tables.cpp):
//   range[k * 32 + s] = (cdf[s + 1] - 1) | (freq - 1) << 16: symbol s's last slot and frequency;
//   bucket[k << 6 | b], for the first symbol s of column k whose range reaches slot
//   b << (precision - 6):  low dword: range[k * 32 + s];  high dword: s | (cdf[s + 2] - 1) << 8
//   (s + 1's last slot; s's own for the last symbol).
// cdf[s + 1] >= 1 for every symbol a lookup can reach (buckets start at the first symbol of
// non-zero frequency); a zero frequency is never decoded, so its field does not matter. Range
// entries past a column's alphabet are never read: a walk stops at its last symbol, whose range
// ends at the last slot.
constexpr int kRansVectorAlphabet = 32;
constexpr int kRansVectorBucketBits = 6;  // 64 buckets a column: 512 bytes
constexpr int kRansVectorMaxBatch = 8;
struct RansVectorTables {
  struct Stream {
    std::vector<uint64_t> bucket;
    std::vector<uint32_t> range;
  };
  Stream streams[kRansVectorMaxBatch];
  int precision = 0;
};
using RansVectorTablesPtr = std::unique_ptr<RansVectorTables, RansVectorTablesDeleter>;

// The tables, or null when the batch does not suit the vector kernels (lanes not a multiple of
// `lane_multiple`, over 256 lanes, more than 8 streams, alphabets over 32 symbols, mixed
// precisions): then the scalar loop decodes.
RansVectorTablesPtr rans_vector_tables(const RansCursor* streams, int count, int64_t columns,
                                       int lanes, int lane_multiple);

// The vector decoders' rare path: lanes (bits of `behind`) whose slot lies past the symbol their
// bucket entry gave walk on through the column's ranges (range[index + 1], ...) to the symbol
// whose range holds the slot; index[i] and packed[i] (range[index[i]]) are updated.
inline void rans_walk_lanes(unsigned behind, const uint32_t* range, const uint32_t* slot,
                            uint32_t* index, uint32_t* packed) {
  for (; behind != 0; behind &= behind - 1) {
    const int i = __builtin_ctz(behind);
    uint32_t at = index[i];
    do {
      ++at;
    } while ((range[at] & 0xffff) < slot[i]);
    index[i] = at;
    packed[i] = range[at];
  }
}

// Calls kernel(std::integral_constant<int, count>{}) for a batch of 1-8 streams: the vector
// decoders are compiled once per batch size, so that the streams' steps interleave unrolled.
template <typename Kernel>
void rans_for_batch_size(int count, Kernel&& kernel) {
  switch (count) {
    case 1:
      return kernel(std::integral_constant<int, 1>{});
    case 2:
      return kernel(std::integral_constant<int, 2>{});
    case 3:
      return kernel(std::integral_constant<int, 3>{});
    case 4:
      return kernel(std::integral_constant<int, 4>{});
    case 5:
      return kernel(std::integral_constant<int, 5>{});
    case 6:
      return kernel(std::integral_constant<int, 6>{});
    case 7:
      return kernel(std::integral_constant<int, 7>{});
    case 8:
      return kernel(std::integral_constant<int, 8>{});
    default:
      break;
  }
}

// Decode `rows` rows of each stream b into out[b] + r * stride (r < rows), advancing the
// cursors; `first_row` numbers them in errors. Throw Error if a stream runs out of bytes.
// AVX-512 (F, BW, VL, VBMI, VPOPCNTDQ): 16 lanes a vector step, lanes a multiple of 16.
void rans_decode_avx512(RansCursor* streams, int count, const RansVectorTables& tables,
                        int64_t first_row, int64_t rows, int64_t columns, uint8_t* const* out,
                        int64_t stride, int lanes);
// AVX2: 8 lanes a vector step, lanes a multiple of 8.
void rans_decode_avx2(RansCursor* streams, int count, const RansVectorTables& tables,
                      int64_t first_row, int64_t rows, int64_t columns, uint8_t* const* out,
                      int64_t stride, int lanes);

}  // namespace cachegen
