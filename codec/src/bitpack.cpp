#include "cachegen/codec/bitpack.h"

namespace cachegen {

void pack_bits(const uint8_t* symbols, int64_t count, int bits, std::vector<uint8_t>& out) {
  size_t base = out.size();
  out.resize(base + static_cast<size_t>(packed_size(count, bits)), 0);
  uint8_t* dst = out.data() + base;
  if (bits == 8) {
    for (int64_t i = 0; i < count; ++i)
      dst[i] = symbols[i];
    return;
  }
  uint64_t acc = 0;
  int filled = 0;
  for (int64_t i = 0; i < count; ++i) {
    acc |= static_cast<uint64_t>(symbols[i]) << filled;
    filled += bits;
    while (filled >= 8) {
      *dst++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0)
    *dst = static_cast<uint8_t>(acc);
}

void unpack_bits(const uint8_t* packed, int64_t count, int bits, uint8_t* symbols) {
  if (bits == 8) {
    for (int64_t i = 0; i < count; ++i)
      symbols[i] = packed[i];
    return;
  }
  const uint32_t mask = (1u << bits) - 1;
  uint64_t acc = 0;
  int filled = 0;
  for (int64_t i = 0; i < count; ++i) {
    while (filled < bits) {
      acc |= static_cast<uint64_t>(*packed++) << filled;
      filled += 8;
    }
    symbols[i] = static_cast<uint8_t>(acc & mask);
    acc >>= bits;
    filled -= bits;
  }
}

}  // namespace cachegen
