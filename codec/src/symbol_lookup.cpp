#include "symbol_lookup.h"

#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/core/cpu_level.h"
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
  static const bool supported = __builtin_cpu_supports("avx2") &&
                                half_kernel_supported(HalfKernel::kF16c) &&
                                cpu_level_allowed(CpuLevel::kAvx2);
  return supported;
}

// (s - M) / M * scale in fp32, as dequantize_symmetric computes it, 8 at a time, stored with
// 32-byte stores that floats_to_halves' 32-byte loads can forward from.
__attribute__((target("avx2"))) void level_table_f16_avx2(int max_level, float scale, int count,
                                                          uint16_t* out) {
  alignas(32) float values[kMaxAlphabet];
  const __m256 m = _mm256_set1_ps(static_cast<float>(max_level)), scale_v = _mm256_set1_ps(scale);
  __m256i symbol =
      _mm256_sub_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(max_level));
  int s = 0;
  for (; s + 8 <= count; s += 8) {
    _mm256_store_ps(values + s,
                    _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(symbol), m), scale_v));
    symbol = _mm256_add_epi32(symbol, _mm256_set1_epi32(8));
  }
  for (; s < count; ++s)
    values[s] = dequantize_symmetric(s, max_level, scale);
  floats_to_halves(values, out, count);
}

bool has_avx512bw() {
  static const bool supported = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                cpu_level_allowed(CpuLevel::kAvx512);
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

// 32 u16 entries as four 16-byte shuffle tables (low and high bytes of entries 0-15 and 16-31):
// 32 symbols a step, each half of the alphabet looked up with pshufb and chosen by bit 4.
__attribute__((target("avx2"))) void lookup_u16_avx2(const uint8_t* symbols, int64_t count,
                                                     const uint16_t* table, uint16_t* out) {
  alignas(16) uint8_t low_bytes[32], high_bytes[32];
  for (int s = 0; s < 32; ++s) {
    low_bytes[s] = static_cast<uint8_t>(table[s]);
    high_bytes[s] = static_cast<uint8_t>(table[s] >> 8);
  }
  auto both_lanes = [](const uint8_t* bytes) {
    return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(bytes)));
  };
  const __m256i low0 = both_lanes(low_bytes), low1 = both_lanes(low_bytes + 16),
                high0 = both_lanes(high_bytes), high1 = both_lanes(high_bytes + 16);
  const __m256i nibble = _mm256_set1_epi8(15);
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i sym = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(symbols + i));
    const __m256i index = _mm256_and_si256(sym, nibble);
    const __m256i upper = _mm256_slli_epi16(sym, 3);  // bit 4 to each byte's sign bit
    const __m256i low = _mm256_blendv_epi8(_mm256_shuffle_epi8(low0, index),
                                           _mm256_shuffle_epi8(low1, index), upper);
    const __m256i high = _mm256_blendv_epi8(_mm256_shuffle_epi8(high0, index),
                                            _mm256_shuffle_epi8(high1, index), upper);
    // Interleave within 128-bit lanes, then put the halves back in symbol order.
    const __m256i a = _mm256_unpacklo_epi8(low, high), b = _mm256_unpackhi_epi8(low, high);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permute2x128_si256(a, b, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 16),
                        _mm256_permute2x128_si256(a, b, 0x31));
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
  if (has_avx2_f16c() && count <= kMaxAlphabet)
    return level_table_f16_avx2(max_level, scale, count, out);
#endif
  level_table_f16_reference(max_level, scale, count, out);
}

void lookup_u16(const uint8_t* symbols, int64_t count, const uint16_t* table, int alphabet,
                uint16_t* out) {
#if defined(__x86_64__)
  if (alphabet <= 32 && has_avx512bw())
    return lookup_u16_avx512(symbols, count, table, out);
  if (alphabet <= 32 && has_avx2_f16c())
    return lookup_u16_avx2(symbols, count, table, out);
#endif
  (void)alphabet;
  lookup_u16_reference(symbols, count, table, out);
}

bool lookup_u16_on(CpuLevel level, const uint8_t* symbols, int64_t count, const uint16_t* table,
                   int alphabet, uint16_t* out) {
  if (level == CpuLevel::kScalar) {
    lookup_u16_reference(symbols, count, table, out);
    return true;
  }
#if defined(__x86_64__)
  if (alphabet > 32)
    return false;
  if (level == CpuLevel::kAvx512 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw")) {
    lookup_u16_avx512(symbols, count, table, out);
    return true;
  }
  if (level == CpuLevel::kAvx2 && __builtin_cpu_supports("avx2")) {
    lookup_u16_avx2(symbols, count, table, out);
    return true;
  }
#endif
  (void)alphabet;
  return false;
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
