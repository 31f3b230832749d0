// The reference's arithmetic coder (torchac, as used by CacheGen): 32-bit low/high, 64-bit span,
// bit-serial output with pending (E3) bits, binary search on decode. Kept faithful so that its
// speed and size can be compared with rANS on the same symbols; precision is a parameter
// (the reference uses 16 bits).
//
// A stream codes symbols[r * stride + k] for r < rows, k < columns in row-major order, column k
// with tables[k].
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cachegen/codec/freq_table.h"

namespace cachegen {

void arith_encode(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                  const FreqTable* const* tables, std::vector<uint8_t>& out);

// Reads past the end of the stream as zero bits, as the reference does. Throws Error naming
// `file_offset` when the stream decodes to an impossible value.
void arith_decode(const uint8_t* stream, size_t size, uint64_t file_offset, int64_t rows,
                  int64_t columns, int64_t stride, const FreqTable* const* tables,
                  uint8_t* symbols);

}  // namespace cachegen
