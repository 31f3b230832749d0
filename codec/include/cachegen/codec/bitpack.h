// Fixed-width bit packing, LSB first: symbol i occupies bits [i*bits, (i+1)*bits) of the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cachegen {

void pack_bits(const uint8_t* symbols, int64_t count, int bits, std::vector<uint8_t>& out);
// Reads `count` symbols from packed bytes of at least packed_size(count, bits) bytes.
void unpack_bits(const uint8_t* packed, int64_t count, int bits, uint8_t* symbols);
inline int64_t packed_size(int64_t count, int bits) {
  return (count * bits + 7) / 8;
}

}  // namespace cachegen
