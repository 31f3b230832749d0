#include "cachegen/core/checksum.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace cachegen {

namespace {
constexpr uint32_t kPolynomial = 0x82f63b78u;  // CRC-32C, reflected

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hardware(const uint8_t* data, size_t size,
                                                           uint32_t seed) {
  uint64_t crc = ~seed;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    crc = _mm_crc32_u64(crc, word);
    data += 8;
    size -= 8;
  }
  auto crc32 = static_cast<uint32_t>(crc);
  while (size-- > 0)
    crc32 = _mm_crc32_u8(crc32, *data++);
  return ~crc32;
}
#endif
}  // namespace

uint32_t crc32c_reference(const uint8_t* data, size_t size, uint32_t seed) {
  static const std::array<uint32_t, 256> table = make_table();
  uint32_t crc = ~seed;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ data[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

uint32_t crc32c(const uint8_t* data, size_t size, uint32_t seed) {
#if defined(__x86_64__)
  static const bool has_sse42 = __builtin_cpu_supports("sse4.2");
  if (has_sse42)
    return crc32c_hardware(data, size, seed);
#endif
  return crc32c_reference(data, size, seed);
}

}  // namespace cachegen
