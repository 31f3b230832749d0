#include "cachegen/core/dtype.h"

#include <cmath>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>
#define CACHEGEN_HAVE_F16C_PATH 1
#endif

#include "cachegen/core/cpu_level.h"
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
    if (reinterpret_cast<uintptr_t>(src) % alignof(uint16_t) == 0) {
      halves_to_floats(static_cast<const uint16_t*>(src), dst, count);
      return;
    }
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
    if (reinterpret_cast<uintptr_t>(dst) % alignof(uint16_t) == 0) {
      floats_to_halves(src, static_cast<uint16_t*>(dst), count);
      return;
    }
    for (int64_t i = 0; i < count; ++i)
      store_u16(out + 2 * i, float_to_half(src[i]));
  } else {
    for (int64_t i = 0; i < count; ++i)
      store_u16(out + 2 * i, float_to_bfloat(src[i]));
  }
}

namespace {
#ifdef CACHEGEN_HAVE_F16C_PATH
// vcvtps2ph rounds to nearest even like float_to_half and agrees with it on every finite value
// and infinity; NaNs differ (it keeps the payload's top bits), so they are set to float_to_half's
// quiet NaN, sign | 0x7e00, afterwards.
__attribute__((target("avx,f16c"))) void floats_to_halves_f16c(const float* src, uint16_t* dst,
                                                               int64_t count) {
  const __m128i magnitude = _mm_set1_epi16(0x7fff), infinity = _mm_set1_epi16(0x7c00),
                sign = _mm_set1_epi16(static_cast<short>(0x8000)),
                quiet_nan = _mm_set1_epi16(0x7e00);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    const __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, magnitude), infinity);
    const __m128i canonical = _mm_or_si128(_mm_and_si128(h, sign), quiet_nan);
    h = _mm_blendv_epi8(h, canonical, nan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < count; ++i)
    dst[i] = float_to_half(src[i]);
}

// vcvtph2ps is exact on every non-NaN half; it quiets signalling NaNs, so a group of 8 holding
// a NaN takes the table instead.
__attribute__((target("avx,f16c"))) void halves_to_floats_f16c(const uint16_t* src, float* dst,
                                                               int64_t count) {
  const __m128i magnitude = _mm_set1_epi16(0x7fff), infinity = _mm_set1_epi16(0x7c00);
  const float* table = half_table().data();
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, magnitude), infinity)) != 0) {
      for (int64_t j = i; j < i + 8; ++j)
        dst[j] = table[src[j]];
      continue;
    }
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < count; ++i)
    dst[i] = table[src[i]];
}
#endif
}  // namespace

bool half_kernel_supported(HalfKernel kernel) {
  if (kernel != HalfKernel::kF16c)
    return true;
#ifdef CACHEGEN_HAVE_F16C_PATH
  // (F16C by cpuid leaf 1, ECX bit 29: clang's __builtin_cpu_supports does not know it; "avx"
  // also checks that the OS saves the YMM state.)
  static const bool supported = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 &&
           (ecx & (1u << 29)) != 0;
  }();
  return supported;
#else
  return false;
#endif
}

namespace {
// kAuto to the kernel that runs (F16C where the CPU has it and CACHEGEN_CPU_LEVEL allows AVX2);
// a named kernel the CPU lacks is an error naming the caller.
HalfKernel resolve_half_kernel(HalfKernel kernel, const char* caller) {
  if (kernel == HalfKernel::kAuto)
    return half_kernel_supported(HalfKernel::kF16c) && cpu_level_allowed(CpuLevel::kAvx2)
               ? HalfKernel::kF16c
               : HalfKernel::kScalar;
  if (!half_kernel_supported(kernel))
    fail(caller, ": this CPU has no F16C instructions");
  return kernel;
}
}  // namespace

void floats_to_halves(const float* src, uint16_t* dst, int64_t count, HalfKernel kernel) {
  if (resolve_half_kernel(kernel, "floats_to_halves") == HalfKernel::kF16c) {
#ifdef CACHEGEN_HAVE_F16C_PATH
    floats_to_halves_f16c(src, dst, count);
    return;
#endif
  }
  for (int64_t i = 0; i < count; ++i)
    dst[i] = float_to_half(src[i]);
}

void halves_to_floats(const uint16_t* src, float* dst, int64_t count, HalfKernel kernel) {
  if (resolve_half_kernel(kernel, "halves_to_floats") == HalfKernel::kF16c) {
#ifdef CACHEGEN_HAVE_F16C_PATH
    halves_to_floats_f16c(src, dst, count);
    return;
#endif
  }
  const float* table = half_table().data();
  for (int64_t i = 0; i < count; ++i)
    dst[i] = table[src[i]];
}

}  // namespace cachegen
