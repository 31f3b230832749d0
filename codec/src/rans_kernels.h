// Vector rANS decode kernels (private to codec/src), selected at run time by rans_decode().
#pragma once

#include <cstdint>

#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/rans_coder.h"

namespace cachegen {

// AVX-512 (F, BW, VBMI, VPOPCNTDQ): 16 lanes per vector step, the batch's streams interleaved.
// Decodes all rows when the shape allows (lanes a multiple of 16, alphabets of at most 32
// symbols), advancing each cursor; returns the rows decoded (0 if it declined), leaving the rest
// to the scalar loop. Throws Error if a stream runs out of bytes.
// Streams of a batch, as the kernels track them.
struct RansCursor {
  const uint8_t* ptr;  // next refill byte
  const uint8_t* end;
  uint64_t file_offset;
  const FreqTable* const* tables;
  uint8_t* symbols;
  uint32_t* state;  // `lanes` states
};

// AVX-512 (F, BW, DQ, VL, VBMI2) encoder: codes every row of the block (backwards), updating the
// `lanes` states and moving `out` down past the bytes it writes below it (at most 2 per symbol).
// Returns false, doing nothing, when the shape does not suit it (lanes or columns not multiples
// of 16). The caller checks the CPU (rans_kernel_supported).
bool rans_encode_avx512(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                        int lanes, const FreqTable* const* tables, uint32_t* state, uint8_t*& out);

int64_t rans_decode_avx512(RansCursor* streams, int count, int64_t rows, int64_t columns,
                           int64_t stride, int lanes);

}  // namespace cachegen
