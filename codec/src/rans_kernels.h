// Vector rANS kernels (private to codec/src), selected at run time by rans_coder.cpp.
#pragma once

#include <cstdint>
#include <memory>

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

// The AVX-512 decoder's per-stream lookup tables (rans_decode_avx512.cpp), built once a batch
// (declared with RansBatchDecoder, which holds them).
using RansAvx512TablesPtr = std::unique_ptr<RansAvx512Tables, RansAvx512TablesDeleter>;

// AVX-512 (F, BW, VL, VBMI, VPOPCNTDQ): 16 lanes per vector step, the batch's streams
// interleaved. The tables, or null when the shape does not suit the kernel (lanes not a
// multiple of 16, more than 8 streams, alphabets over 32 symbols, mixed precisions): then the
// scalar loop decodes.
RansAvx512TablesPtr rans_avx512_tables(const RansCursor* streams, int count, int64_t columns,
                                       int lanes);
// Decodes `rows` rows of each stream b into out[b] + r * stride (r < rows), advancing the
// cursors; `first_row` numbers them in errors. Throws Error if a stream runs out of bytes.
void rans_decode_avx512(RansCursor* streams, int count, const RansAvx512Tables& tables,
                        int64_t first_row, int64_t rows, int64_t columns, uint8_t* const* out,
                        int64_t stride, int lanes);

}  // namespace cachegen
