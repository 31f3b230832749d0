#include "symbol_lookup.h"

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

#if defined(__x86_64__)
namespace {
bool has_avx512bw() {
  static const bool supported =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return supported;
}

// 32 u16 entries in one register; each symbol widened to a 16-bit index.
__attribute__((target("avx512f,avx512bw"))) void lookup_u16_avx512(const uint8_t* symbols,
                                                                   int64_t count,
                                                                   const uint16_t* table,
                                                                   uint16_t* out) {
  const __m512i entries = _mm512_loadu_si512(table);
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
  const __m512i low = _mm512_loadu_si512(table), high = _mm512_loadu_si512(table + 16);
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
