#include "bitpack_kernels.cuh"
#include "gpu_runtime.h"

namespace cachegen::gpu {

namespace {

// One thread per packed byte: the symbols whose bits fall in it (bitpack.cpp's LSB-first order).
__global__ void pack_kernel(const uint8_t* symbols, uint64_t count, int bits, uint8_t* packed,
                            uint64_t packed_size) {
  const uint64_t byte = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x;
  if (byte >= packed_size)
    return;
  const uint64_t first_bit = byte * 8;
  uint32_t value = 0;
  for (uint64_t e = first_bit / bits; e < count && e * bits < first_bit + 8; ++e) {
    const int64_t shift = int64_t(e * bits) - int64_t(first_bit);
    const uint32_t s = symbols[e];
    value |= shift >= 0 ? s << shift : s >> -shift;
  }
  packed[byte] = uint8_t(value);
}

}  // namespace

void launch_pack_bits(const uint8_t* symbols, uint64_t count, int bits, uint8_t* packed,
                      uint64_t packed_size, cudaStream_t stream) {
  if (packed_size == 0)
    return;
  pack_kernel<<<unsigned((packed_size + 255) / 256), 256, 0, stream>>>(symbols, count, bits, packed,
                                                                       packed_size);
  CG_CUDA_LAUNCHED("pack_kernel");
}

}  // namespace cachegen::gpu
