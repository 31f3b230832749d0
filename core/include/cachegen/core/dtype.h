// Element types of KV caches and exact conversions between them and float.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace cachegen {

enum class DType : uint8_t { kF32 = 0, kF16 = 1, kBF16 = 2 };

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);  // "f32", "f16", "bf16"
// Accepts our names and safetensors' ("F32", "F16", "BF16"); throws listing the valid names.
DType parse_dtype(const std::string& name);
std::string safetensors_dtype_name(DType dtype);

// IEEE binary16 <-> binary32. float->half rounds to nearest even; NaN stays NaN.
uint16_t float_to_half(float value);
float half_to_float(uint16_t bits);
// bfloat16 <-> binary32, round to nearest even.
uint16_t float_to_bfloat(float value);
inline float bfloat_to_float(uint16_t bits) {
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

// Rounds a float to the nearest value representable in dtype (identity for f32).
float round_to_dtype(float value, DType dtype);

// Converts count elements of dtype at src to float, and back (round to nearest even).
void to_float(DType dtype, const void* src, float* dst, int64_t count);
void from_float(DType dtype, const float* src, void* dst, int64_t count);

}  // namespace cachegen
