// out[i] = table[symbols[i]]: dequantization as a table lookup, for 2- and 4-byte values (f16,
// bf16; f32). With AVX-512 and an alphabet of at most 32 symbols, 32 (16) values per permute;
// otherwise the plain loop, which is the reference (codec/test/coder_test.cpp).
#pragma once

#include <cstdint>

#include "cachegen/core/cpu_level.h"

namespace cachegen {

// table: at least 32 entries readable (alphabet <= 32) or `alphabet` entries.
void lookup_u16(const uint8_t* symbols, int64_t count, const uint16_t* table, int alphabet,
                uint16_t* out);
void lookup_u32(const uint8_t* symbols, int64_t count, const uint32_t* table, int alphabet,
                uint32_t* out);
// out[s] = float_to_half(dequantize_symmetric(s, max_level, scale)) for s < count (quantize.h's
// levels as f16): computed 8 at a time with AVX2, converted by floats_to_halves (same bits), so
// that the lookup's table comes from whole 16-byte stores.
void level_table_f16(int max_level, float scale, int count, uint16_t* out);
void level_table_f16_reference(int max_level, float scale, int count, uint16_t* out);

// lookup_u16 on one path (kScalar, kAvx2, kAvx512) whatever the cap: for tests. False, doing
// nothing, if this CPU lacks it or the alphabet is over 32 symbols (vector paths).
bool lookup_u16_on(CpuLevel level, const uint8_t* symbols, int64_t count, const uint16_t* table,
                   int alphabet, uint16_t* out);

// The plain loops, for tests.
void lookup_u16_reference(const uint8_t* symbols, int64_t count, const uint16_t* table,
                          uint16_t* out);
void lookup_u32_reference(const uint8_t* symbols, int64_t count, const uint32_t* table,
                          uint32_t* out);

}  // namespace cachegen
