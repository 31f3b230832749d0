#include "symbol_lookup.h"

#include "cachegen/codec/quantize.h"
#include "cachegen/core/dtype.h"
#include "cachegen/core/float_formats.h"
#include "x86_intrinsics.h"

namespace cachegen {

void lookup_u16_reference(const uint8_t* symbols, int64_t count, const uint16_t* table,
                          uint16_t* out) {
  for (int64_t i = 0; i < count; ++i)
    out[i] = table[symbols[i]];
}

void lookup_u32_reference(const uint8_t* symbols, int64_t count, const uint32_t* table,
                          uint32_t* out) {
  for (int64_t i = 0; i < count; ++i)
    out[i] = table[symbols[i]];
}

void level_table_f16_reference(int max_level, float scale, int count, uint16_t* out) {
  for (int s = 0; s < count; ++s)
    out[s] = float_to_half(dequantize_symmetric(s, max_level, scale));
}

#if defined(__x86_64__)
namespace {
bool has_avx2_f16c() {
  static const bool supported =
      __builtin_cpu_supports("avx2") && half_kernel_supported(HalfKernel::kF16c);
  return supported;
}

// (s - M) / M * scale in fp32, as dequantize_symmetric computes it, then vcvtps2ph with NaNs set
// to float_to_half's quiet NaN (sign | 0x7e00), as floats_to_halves does.
__attribute__((target("avx2,f16c"))) void level_table_f16_avx2(int max_level, float scale,
                                                               int count, uint16_t* out) {
  const __m256 m = _mm256_set1_ps(static_cast<float>(max_level)), scale_v = _mm256_set1_ps(scale);
  const __m128i magnitude = _mm_set1_epi16(0x7fff), infinity = _mm_set1_epi16(0x7c00),
                sign = _mm_set1_epi16(static_cast<short>(0x8000)),
                quiet_nan = _mm_set1_epi16(0x7e00);
  __m256i symbol =
      _mm256_sub_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(max_level));
  int s = 0;
  for (; s + 8 <= count; s += 8) {
    const __m256 value = _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(symbol), m), scale_v);
    __m128i h = _mm256_cvtps_ph(value, _MM_FROUND_TO_NEAREST_INT);
    const __m128i nan = _mm_cmpgt_epi16(_mm_and_si128(h, magnitude), infinity);
    h = _mm_blendv_epi8(h, _mm_or_si128(_mm_and_si128(h, sign), quiet_nan), nan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + s), h);
    symbol = _mm256_add_epi32(symbol, _mm256_set1_epi32(8));
  }
  for (int t = s; t < count; ++t)
    out[t] = float_to_half(dequantize_symmetric(t, max_level, scale));
}
bool has_avx512bw() {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return supported;
}

// A 64-byte table read in 16-byte pieces: callers build tables just before the lookup with
// 16-byte (or narrower) stores, and one 64-byte load spanning several of them cannot be
// forwarded from the store buffer (a stall of tens of cycles per call).
__attribute__((target("avx512f"))) __m512i load_table(const void* table) {
  const auto* piece = static_cast<const __m128i*>(table);
  __m512i entries = _mm512_setzero_si512();
  entries = _mm512_inserti32x4(entries, _mm_loadu_si128(piece), 0);
  entries = _mm512_inserti32x4(entries, _mm_loadu_si128(piece + 1), 1);
  entries = _mm512_inserti32x4(entries, _mm_loadu_si128(piece + 2), 2);
  return _mm512_inserti32x4(entries, _mm_loadu_si128(piece + 3), 3);
}

// 32 u16 entries in one register; each symbol widened to a 16-bit index.
__attribute__((target("avx512f,avx512bw"))) void lookup_u16_avx512(const uint8_t* symbols,
                                                                   int64_t count,
                                                                   const uint16_t* table,
                                                                   uint16_t* out) {
  const __m512i entries = load_table(table);
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m512i index =
        _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(symbols + i)));
    _mm512_storeu_si512(out + i, _mm512_permutexvar_epi16(index, entries));
  }
  lookup_u16_reference(symbols + i, count - i, table, out + i);
}

// 32 u32 entries in two registers (a two-source permute).
__attribute__((target("avx512f"))) void lookup_u32_avx512(const uint8_t* symbols, int64_t count,
                                                          const uint32_t* table, uint32_t* out) {
  const __m512i low = load_table(table), high = load_table(table + 16);
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m512i index =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(symbols + i)));
    _mm512_storeu_si512(out + i, _mm512_permutex2var_epi32(low, index, high));
  }
  lookup_u32_reference(symbols + i, count - i, table, out + i);
}
}  // namespace
#endif

void level_table_f16(int max_level, float scale, int count, uint16_t* out) {
#if defined(__x86_64__)
  if (has_avx2_f16c())
    return level_table_f16_avx2(max_level, scale, count, out);
#endif
  level_table_f16_reference(max_level, scale, count, out);
}

void lookup_u16(const uint8_t* symbols, int64_t count, const uint16_t* table, int alphabet,
                uint16_t* out) {
#if defined(__x86_64__)
  if (alphabet <= 32 && has_avx512bw())
    return lookup_u16_avx512(symbols, count, table, out);
#endif
  (void)alphabet;
  lookup_u16_reference(symbols, count, table, out);
}

void lookup_u32(const uint8_t* symbols, int64_t count, const uint32_t* table, int alphabet,
                uint32_t* out) {
#if defined(__x86_64__)
  if (alphabet <= 32 && has_avx512bw())
    return lookup_u32_avx512(symbols, count, table, out);
#endif
  (void)alphabet;
  lookup_u32_reference(symbols, count, table, out);
}

}  // namespace cachegen
