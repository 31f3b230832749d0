// CUDA error checking and launch helpers shared by the GPU codec sources (private).
#pragma once

#include <cuda_runtime.h>

#include "cachegen/codec/cuda/gpu_codec.h"
#include "cachegen/core/error.h"

namespace cachegen::gpu {

// Throws Error naming the failed call, its location and CUDA's message.
#define CG_CUDA(call)                                                          \
  do {                                                                         \
    cudaError_t cg_status_ = (call);                                           \
    if (cg_status_ != cudaSuccess) {                                           \
      ::cachegen::fail("CUDA error in ", #call, " (", __FILE__, ":", __LINE__, \
                       "): ", cudaGetErrorString(cg_status_));                 \
    }                                                                          \
  } while (0)

// After a kernel launch: throws on a launch error (bad configuration), naming the kernel,
// without waiting for it.
#define CG_CUDA_LAUNCHED(kernel)                                                       \
  do {                                                                                 \
    cudaError_t cg_status_ = cudaPeekAtLastError();                                    \
    if (cg_status_ != cudaSuccess) {                                                   \
      ::cachegen::fail("CUDA error launching ", kernel, " (", __FILE__, ":", __LINE__, \
                       "): ", cudaGetErrorString(cg_status_));                         \
    }                                                                                  \
  } while (0)

// Status words the decode kernels write, one per stream (0: fine).
enum DecodeStatus : uint32_t {
  kStreamFine = 0,
  kStreamTooShort = 1,  // fewer bytes than the lane states
  kStreamOverrun = 2,   // a refill ran past the stream's end
  kStreamBadFinal = 3,  // a lane did not end in the initial state
  kStreamLeftover = 4,  // bytes left after the last symbol
};

inline const char* decode_status_text(uint32_t status) {
  switch (status) {
    case kStreamTooShort:
      return "too short to hold its lane states";
    case kStreamOverrun:
      return "runs out of bytes";
    case kStreamBadFinal:
      return "a lane does not end in the initial state";
    case kStreamLeftover:
      return "has bytes left over after decoding";
    default:
      return "unknown error";
  }
}

// Lays out parts of one buffer at 256-byte aligned offsets: take() returns each part's offset,
// total() the buffer size; at() turns an offset into a typed pointer into a buffer.
class Layout {
 public:
  template <typename T>
  size_t take(size_t count) {
    size_t at = end_;
    end_ = (end_ + count * sizeof(T) + 255) / 256 * 256;
    return at;
  }
  size_t total() const { return end_ == 0 ? 256 : end_; }

 private:
  size_t end_ = 0;
};

template <typename T>
T* at(void* base, size_t offset) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + offset);
}

}  // namespace cachegen::gpu
