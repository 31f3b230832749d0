#include "cachegen/codec/arith_coder.h"

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
class BitWriter {
 public:
  explicit BitWriter(std::vector<uint8_t>& out) : out_(out) {}
  void bit(uint32_t b) {
    byte_ = static_cast<uint8_t>((byte_ << 1) | b);
    if (++count_ == 8) {
      out_.push_back(byte_);
      byte_ = 0;
      count_ = 0;
    }
  }
  void bit_plus_pending(uint32_t b, uint64_t& pending) {
    bit(b);
    for (; pending > 0; --pending)
      bit(!b);
  }
  void flush() {  // pad the last byte with zeros, MSB first
    while (count_ != 0)
      bit(0);
  }

 private:
  std::vector<uint8_t>& out_;
  uint8_t byte_ = 0;
  int count_ = 0;
};

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t bit() {  // zeros past the end, as in the reference
    if (pos_ >= size_ * 8) {
      ++pos_;
      return 0;
    }
    uint32_t b = (data_[pos_ / 8] >> (7 - pos_ % 8)) & 1u;
    ++pos_;
    return b;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};
}  // namespace

void arith_encode(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                  const FreqTable* const* tables, std::vector<uint8_t>& out) {
  BitWriter writer(out);
  uint32_t low = 0, high = 0xffffffffu;
  uint64_t pending = 0;
  const int precision = tables[0]->precision();
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = symbols + r * stride;
    for (int64_t k = 0; k < columns; ++k) {
      const FreqTable& table = *tables[k];
      const int s = row[k];
      const uint64_t span = static_cast<uint64_t>(high) - low + 1;
      const uint64_t c_low = table.start(s), c_high = c_low + table.freq(s);
      high = static_cast<uint32_t>(low - 1 + ((span * c_high) >> precision));
      low = static_cast<uint32_t>(low + ((span * c_low) >> precision));
      for (;;) {
        if (high < 0x80000000u) {
          writer.bit_plus_pending(0, pending);
          low <<= 1;
          high = (high << 1) | 1u;
        } else if (low >= 0x80000000u) {
          writer.bit_plus_pending(1, pending);
          low <<= 1;
          high = (high << 1) | 1u;
        } else if (low >= 0x40000000u && high < 0xc0000000u) {
          ++pending;
          low = (low << 1) & 0x7fffffffu;
          high = (high << 1) | 0x80000001u;
        } else {
          break;
        }
      }
    }
  }
  ++pending;
  writer.bit_plus_pending(low < 0x40000000u ? 0 : 1, pending);
  writer.flush();
}

void arith_decode(const uint8_t* stream, size_t size, uint64_t file_offset, int64_t rows,
                  int64_t columns, int64_t stride, const FreqTable* const* tables,
                  uint8_t* symbols) {
  BitReader reader(stream, size);
  uint32_t low = 0, high = 0xffffffffu, value = 0;
  for (int i = 0; i < 32; ++i)
    value = (value << 1) | reader.bit();
  const int precision = tables[0]->precision();
  const uint64_t total_slots = uint64_t{1} << precision;
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = symbols + r * stride;
    for (int64_t k = 0; k < columns; ++k) {
      const FreqTable& table = *tables[k];
      const uint64_t span = static_cast<uint64_t>(high) - low + 1;
      const uint64_t count = ((static_cast<uint64_t>(value) - low + 1) * total_slots - 1) / span;
      if (value < low || value > high || count >= total_slots) {
        fail("arithmetic-coded stream at byte offset ", file_offset, ": impossible value at row ",
             r, ", column ", k, " (corrupted)");
      }
      const int s = table.find(static_cast<uint32_t>(count));
      const uint64_t c_low = table.start(s), c_high = c_low + table.freq(s);
      high = static_cast<uint32_t>(low - 1 + ((span * c_high) >> precision));
      low = static_cast<uint32_t>(low + ((span * c_low) >> precision));
      for (;;) {
        if (low >= 0x80000000u || high < 0x80000000u) {
          low <<= 1;
          high = (high << 1) | 1u;
          value = (value << 1) | reader.bit();
        } else if (low >= 0x40000000u && high < 0xc0000000u) {
          low = (low << 1) & 0x7fffffffu;
          high = (high << 1) | 0x80000001u;
          value = ((value - 0x40000000u) << 1) | reader.bit();
        } else {
          break;
        }
      }
      row[k] = static_cast<uint8_t>(s);
    }
  }
}

}  // namespace cachegen
