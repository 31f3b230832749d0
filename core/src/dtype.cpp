#include "cachegen/core/dtype.h"

#include <cmath>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

size_t dtype_size(DType dtype) {
  return dtype == DType::kF32 ? 4 : 2;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
  }
  fail("invalid dtype code ", static_cast<int>(dtype));
}

std::string safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
  }
  fail("invalid dtype code ", static_cast<int>(dtype));
}

DType parse_dtype(const std::string& name) {
  if (name == "f32" || name == "F32" || name == "fp32" || name == "float32")
    return DType::kF32;
  if (name == "f16" || name == "F16" || name == "fp16" || name == "float16")
    return DType::kF16;
  if (name == "bf16" || name == "BF16" || name == "bfloat16")
    return DType::kBF16;
  fail("unknown dtype '", name, "'; valid: f32, f16, bf16");
}

float round_to_dtype(float value, DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return value;
    case DType::kF16:
      return half_to_float(float_to_half(value));
    case DType::kBF16:
      return bfloat_to_float(float_to_bfloat(value));
  }
  return value;
}

namespace {
// All 65536 half values as float: a lookup is faster than the bit arithmetic above.
const std::vector<float>& half_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) {
      t[i] = half_to_float(static_cast<uint16_t>(i));
    }
    return t;
  }();
  return table;
}
}  // namespace

namespace {
// Element access through memcpy: sources may be unaligned (sections inside a byte buffer).
inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void store_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
}  // namespace

void to_float(DType dtype, const void* src, float* dst, int64_t count) {
  if (dtype == DType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  const auto* in = static_cast<const uint8_t*>(src);
  if (dtype == DType::kF16) {
    const float* table = half_table().data();
    for (int64_t i = 0; i < count; ++i)
      dst[i] = table[load_u16(in + 2 * i)];
  } else {
    for (int64_t i = 0; i < count; ++i)
      dst[i] = bfloat_to_float(load_u16(in + 2 * i));
  }
}

void from_float(DType dtype, const float* src, void* dst, int64_t count) {
  if (dtype == DType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  auto* out = static_cast<uint8_t*>(dst);
  if (dtype == DType::kF16) {
    for (int64_t i = 0; i < count; ++i)
      store_u16(out + 2 * i, float_to_half(src[i]));
  } else {
    for (int64_t i = 0; i < count; ++i)
      store_u16(out + 2 * i, float_to_bfloat(src[i]));
  }
}

}  // namespace cachegen
