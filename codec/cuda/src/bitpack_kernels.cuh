// Bit packing on the device, in bitpack.cpp's order: symbol i occupies bits
// [i * bits, (i + 1) * bits) of the packed stream, least significant bit first (private).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace cachegen::gpu {

// Packs `count` symbols of `bits` bits (one thread per packed byte) on `stream`.
void launch_pack_bits(const uint8_t* symbols, uint64_t count, int bits, uint8_t* packed,
                      uint64_t packed_size, cudaStream_t stream);

// Symbol i of a packed stream of `packed_size` bytes.
__device__ __forceinline__ int unpack_symbol(const uint8_t* packed, uint64_t packed_size,
                                             uint64_t i, int bits) {
  const uint64_t bit = i * uint64_t(bits);
  uint32_t word = packed[bit / 8];
  if (bit / 8 + 1 < packed_size)
    word |= uint32_t(packed[bit / 8 + 1]) << 8;
  return int((word >> (bit % 8)) & ((1u << bits) - 1));
}

}  // namespace cachegen::gpu
