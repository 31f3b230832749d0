#include "cachegen/codec/rans_coder.h"

#include <cstring>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
constexpr int kMaxLanes = 256;
}

void rans_encode(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                 int lanes, const FreqTable* const* tables, std::vector<uint8_t>& out) {
  if (lanes < 1 || lanes > kMaxLanes || columns % lanes != 0) {
    fail("rANS: ", columns, " columns cannot be split into ", lanes, " lanes");
  }
  const int precision = tables[0]->precision();
  // Each symbol emits at most 2 bytes (precision <= 16), plus 4 bytes of final state per lane.
  std::vector<uint8_t> buffer(static_cast<size_t>(rows * columns) * 2 + 4 * size_t(lanes));
  uint8_t* end = buffer.data() + buffer.size();
  uint8_t* ptr = end;
  uint32_t state[kMaxLanes];
  for (int i = 0; i < lanes; ++i) state[i] = kRansLow;
  const uint32_t renorm_base = (kRansLow >> precision) << 8;
  for (int64_t r = rows - 1; r >= 0; --r) {
    const uint8_t* row = symbols + r * stride;
    for (int64_t k = columns - 1; k >= 0; --k) {
      const FreqTable& table = *tables[k];
      const int s = row[k];
      const uint32_t freq = table.freq(s);
      uint32_t& x = state[k % lanes];
      const uint32_t x_max = renorm_base * freq;
      while (x >= x_max) {
        *--ptr = static_cast<uint8_t>(x);
        x >>= 8;
      }
      x = ((x / freq) << precision) + (x % freq) + table.start(s);
    }
  }
  for (int i = lanes - 1; i >= 0; --i) {
    ptr -= 4;
    std::memcpy(ptr, &state[i], 4);
  }
  out.insert(out.end(), ptr, end);
}

void rans_decode(const uint8_t* stream, size_t size, uint64_t file_offset, int64_t rows,
                 int64_t columns, int64_t stride, int lanes, const FreqTable* const* tables,
                 uint8_t* symbols) {
  if (lanes < 1 || lanes > kMaxLanes || columns % lanes != 0) {
    fail("rANS: ", columns, " columns cannot be split into ", lanes, " lanes");
  }
  if (size < 4 * size_t(lanes)) {
    fail("rANS stream at byte offset ", file_offset, ": ", size, " bytes cannot hold ", lanes,
         " lane states");
  }
  const int precision = tables[0]->precision();
  const uint32_t mask = (1u << precision) - 1;
  uint32_t state[kMaxLanes];
  const uint8_t* ptr = stream;
  const uint8_t* end = stream + size;
  for (int i = 0; i < lanes; ++i, ptr += 4) std::memcpy(&state[i], ptr, 4);
  const int64_t groups = columns / lanes;
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = symbols + r * stride;
    int64_t k = 0;
    for (int64_t g = 0; g < groups; ++g) {
      for (int i = 0; i < lanes; ++i, ++k) {
        const FreqTable& table = *tables[k];
        uint32_t x = state[i];
        const uint32_t slot = x & mask;
        const int s = table.find(slot);
        x = table.freq(s) * (x >> precision) + slot - table.start(s);
        while (x < kRansLow) {
          if (ptr == end) {
            fail("rANS stream at byte offset ", file_offset, ": runs out of bytes at row ", r,
                 ", column ", k, " (corrupted)");
          }
          x = (x << 8) | *ptr++;
        }
        state[i] = x;
        row[k] = static_cast<uint8_t>(s);
      }
    }
  }
  for (int i = 0; i < lanes; ++i) {
    if (state[i] != kRansLow) {
      fail("rANS stream at byte offset ", file_offset, ": lane ", i,
           " does not end in the initial state (corrupted)");
    }
  }
  if (ptr != end) {
    fail("rANS stream at byte offset ", file_offset, ": ", end - ptr,
         " bytes left over after decoding (corrupted)");
  }
}

}  // namespace cachegen
