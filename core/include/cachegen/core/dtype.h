// Element types of KV caches and exact conversions between them and float.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "cachegen/core/float_formats.h"

namespace cachegen {

enum class DType : uint8_t { kF32 = 0, kF16 = 1, kBF16 = 2 };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);  // "f32", "f16", "bf16"
// Accepts our names and safetensors' ("F32", "F16", "BF16"); throws listing the valid names.
DType parse_dtype(const std::string& name);
std::string safetensors_dtype_name(DType dtype);

// float <-> half / bfloat16: float_formats.h (shared with the GPU kernels).

// Rounds a float to the nearest value representable in dtype (identity for f32).
float round_to_dtype(float value, DType dtype);

// Converts count elements of dtype at src to float, and back (round to nearest even).
void to_float(DType dtype, const void* src, float* dst, int64_t count);
void from_float(DType dtype, const float* src, void* dst, int64_t count);

// The loops behind from_float's f16 case. kF16c (x86 F16C instructions, 8 at a time) gives the
// same bits as kScalar (float_to_half) for every input, NaN included; kAuto takes kF16c where
// the CPU has it. Tests and benchmarks name a loop to check and time each one.
enum class HalfKernel { kAuto, kScalar, kF16c };
bool half_kernel_supported(HalfKernel kernel);
void floats_to_halves(const float* src, uint16_t* dst, int64_t count,
                      HalfKernel kernel = HalfKernel::kAuto);
// The loops behind to_float's f16 case: every half gives half_to_float's bits (NaN payloads
// kept as they are, signalling ones too), under either kernel.
void halves_to_floats(const uint16_t* src, float* dst, int64_t count,
                      HalfKernel kernel = HalfKernel::kAuto);

}  // namespace cachegen
