// CRC-32C (Castagnoli): hardware SSE4.2 instruction where present, table otherwise; both give
// the same value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cachegen {

uint32_t crc32c(const uint8_t* data, size_t size, uint32_t seed = 0);
// The portable table implementation, kept as the reference the fast path is tested against.
uint32_t crc32c_reference(const uint8_t* data, size_t size, uint32_t seed = 0);

}  // namespace cachegen
