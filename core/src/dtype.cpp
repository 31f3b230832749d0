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

static uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

static float bits_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t float_to_half(float value) {
  uint32_t f = float_bits(value);
  uint32_t sign = (f >> 16) & 0x8000u;
  uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN (keep NaN quiet and non-zero)
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) {  // rounds to >= 65520: overflow to Inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (abs < 0x38800000u) {  // subnormal half (or zero): value * 2^24 rounded to an integer
    float scaled = bits_float(abs) * 16777216.0f;  // exact: power-of-two scaling
    // Round half to even: add and subtract 2^23 (exact in the default rounding mode).
    float rounded = (scaled + 8388608.0f) - 8388608.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(rounded));
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even.
  uint32_t mantissa_odd = (abs >> 13) & 1u;
  abs += 0x0fffu + mantissa_odd;
  return static_cast<uint16_t>(sign | ((abs - 0x38000000u) >> 13));
}

float half_to_float(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) {
    return bits_float(sign | 0x7f800000u | (mantissa << 13));
  }
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t float_to_bfloat(float value) {
  uint32_t f = float_bits(value);
  if ((f & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((f >> 16) | 0x40u);  // quiet NaN
  }
  uint32_t lsb = (f >> 16) & 1u;
  return static_cast<uint16_t>((f + 0x7fffu + lsb) >> 16);
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
