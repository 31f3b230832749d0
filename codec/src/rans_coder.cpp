#include "cachegen/codec/rans_coder.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "cachegen/core/error.h"
#include "rans_kernels.h"

namespace cachegen {

namespace {
constexpr int kMaxLanes = 256;
}

namespace {
// Encoder view of one symbol (after ryg_rans): x / freq by a multiply with an exact reciprocal
// (valid for x < 2^31, which the state always is), so the hot loop has no division.
struct EncodeSymbol {
  uint32_t x_max;      // renormalise while x >= x_max
  uint32_t rcp_freq;   // ceil(2^(shift + 31) / freq)
  uint32_t bias;       // start (+ 2^precision - 1 when freq == 1)
  uint16_t cmpl_freq;  // 2^precision - freq
  uint16_t rcp_shift;
};

EncodeSymbol make_encode_symbol(uint32_t start, uint32_t freq, int precision) {
  EncodeSymbol e{};
  e.x_max = ((kRansLow >> precision) << 8) * freq;
  e.cmpl_freq = static_cast<uint16_t>((1u << precision) - freq);
  if (freq < 2) {
    e.rcp_freq = ~0u;
    e.rcp_shift = 0;
    e.bias = start + (1u << precision) - 1;
  } else {
    uint32_t shift = 0;
    while (freq > (1u << shift))
      ++shift;
    e.rcp_freq = static_cast<uint32_t>(((uint64_t{1} << (shift + 31)) + freq - 1) / freq);
    e.rcp_shift = static_cast<uint16_t>(shift - 1);
    e.bias = start;
  }
  return e;
}

// The reference encoder: symbols backwards (last row, last column first), each column's lane
// k % lanes, bytes written downwards from `ptr`.
void rans_encode_scalar(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                        int lanes, const FreqTable* const* tables, uint32_t* state, uint8_t*& out) {
  const int precision = tables[0]->precision();
  // Flat per-stream symbol table: column k's symbol s at [k * width + s].
  int width = 1;
  for (int64_t k = 0; k < columns; ++k)
    width = std::max(width, tables[k]->alphabet());
  std::vector<EncodeSymbol> table(static_cast<size_t>(columns * width));
  for (int64_t k = 0; k < columns; ++k) {
    for (int sym = 0; sym < tables[k]->alphabet(); ++sym) {
      table[static_cast<size_t>(k * width + sym)] =
          make_encode_symbol(tables[k]->start(sym), tables[k]->freq(sym), precision);
    }
  }
  uint8_t* ptr = out;
  for (int64_t r = rows - 1; r >= 0; --r) {
    const uint8_t* row = symbols + r * stride;
    int lane = lanes - 1;  // k % lanes, counted down with k (columns is a multiple of lanes)
    for (int64_t k = columns - 1; k >= 0; --k, lane = lane == 0 ? lanes - 1 : lane - 1) {
      const EncodeSymbol& e = table[static_cast<size_t>(k * width + row[k])];
      uint32_t x = state[lane];
      // Renormalise: at most two bytes, written branch-free into the reserved space below ptr.
      const uint32_t n = (x >= e.x_max) + ((x >> 8) >= e.x_max);
      ptr[-1] = static_cast<uint8_t>(x);
      ptr[-2] = static_cast<uint8_t>(x >> 8);
      ptr -= n;
      x = n == 0 ? x : x >> (8 * n);
      const uint32_t q =
          static_cast<uint32_t>((static_cast<uint64_t>(x) * e.rcp_freq) >> 32) >> e.rcp_shift;
      state[lane] = x + e.bias + q * e.cmpl_freq;
    }
  }
  out = ptr;
}
}  // namespace

void rans_encode(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride, int lanes,
                 const FreqTable* const* tables, std::vector<uint8_t>& out, RansKernel kernel) {
  if (lanes < 1 || lanes > kMaxLanes || columns % lanes != 0) {
    fail("rANS: ", columns, " columns cannot be split into ", lanes, " lanes");
  }
  // Each symbol emits at most 2 bytes (precision <= 16), plus 4 bytes of final state per lane.
  std::vector<uint8_t> buffer(static_cast<size_t>(rows * columns) * 2 + 4 * size_t(lanes));
  uint8_t* end = buffer.data() + buffer.size();
  uint8_t* ptr = end;
  uint32_t state[kMaxLanes];
  for (int i = 0; i < lanes; ++i)
    state[i] = kRansLow;
  if (kernel == RansKernel::kAuto)
    kernel = rans_auto_kernel();  // (kAvx2 encodes with the scalar loop)
  if (!rans_kernel_supported(kernel))
    fail("rANS: this CPU lacks the instructions of the kernel asked for");
  const bool vector = kernel == RansKernel::kAvx512 &&
                      rans_encode_avx512(symbols, rows, columns, stride, lanes, tables, state, ptr);
  if (!vector)
    rans_encode_scalar(symbols, rows, columns, stride, lanes, tables, state, ptr);
  for (int i = lanes - 1; i >= 0; --i) {
    ptr -= 4;
    std::memcpy(ptr, &state[i], 4);
  }
  out.insert(out.end(), ptr, end);
}

void rans_decode(const uint8_t* stream, size_t size, uint64_t file_offset, int64_t rows,
                 int64_t columns, int64_t stride, int lanes, const FreqTable* const* tables,
                 uint8_t* symbols, RansKernel kernel) {
  RansStream one{stream, size, file_offset, tables, symbols};
  rans_decode_batch(&one, 1, rows, columns, stride, lanes, kernel);
}

void rans_decode_batch(const RansStream* streams, int count, int64_t rows, int64_t columns,
                       int64_t stride, int lanes, RansKernel kernel) {
  RansBatchDecoder decoder(streams, count, rows, columns, lanes, kernel);
  std::vector<uint8_t*> out;
  for (int b = 0; b < count; ++b)
    out.push_back(streams[b].symbols);
  decoder.decode(rows, out.data(), stride);
  decoder.finish();
}

RansBatchDecoder::RansBatchDecoder(const RansStream* streams, int count, int64_t rows,
                                   int64_t columns, int lanes, RansKernel kernel)
    : count_(count), rows_(rows), columns_(columns), lanes_(lanes) {
  if (lanes < 1 || lanes > kMaxLanes || columns % lanes != 0) {
    fail("rANS: ", columns, " columns cannot be split into ", lanes, " lanes");
  }
  states_.resize(static_cast<size_t>(count * lanes));
  for (int b = 0; b < count; ++b) {
    const RansStream& s = streams[b];
    if (s.size < 4 * size_t(lanes)) {
      fail("rANS stream at byte offset ", s.file_offset, ": ", s.size, " bytes cannot hold ", lanes,
           " lane states");
    }
    uint32_t* state = states_.data() + b * lanes;
    std::memcpy(state, s.data, 4 * size_t(lanes));
    for (int i = 0; i < lanes; ++i) {  // an encoder ends every lane in [L, 256 L)
      if (state[i] < kRansLow || state[i] >= (kRansLow << 8)) {
        fail("rANS stream at byte offset ", s.file_offset, ": lane ", i, " starts in state ",
             state[i], ", outside [2^23, 2^31) (corrupted)");
      }
    }
    cursors_.push_back({s.data + 4 * lanes, s.data + s.size, s.file_offset, s.tables, state});
  }
  kernel_ = kernel == RansKernel::kAuto ? rans_auto_kernel() : kernel;
  if (kernel_ != RansKernel::kScalar) {
    if (!rans_kernel_supported(kernel_))
      fail("rANS: this CPU lacks the instructions of the kernel asked for");
    vector_tables_ = rans_vector_tables(cursors_.data(), count, columns, lanes,
                                        kernel_ == RansKernel::kAvx512 ? 16 : 8);
  }
}

RansBatchDecoder::~RansBatchDecoder() = default;

void RansBatchDecoder::decode(int64_t n, uint8_t* const* out, int64_t stride) {
  if (n < 0 || n > rows_ - next_row_)
    fail("rANS: ", n, " more rows asked of a block with ", rows_ - next_row_, " left");
  if (vector_tables_) {
    if (kernel_ == RansKernel::kAvx512) {
      rans_decode_avx512(cursors_.data(), count_, *vector_tables_, next_row_, n, columns_, out,
                         stride, lanes_);
    } else {
      rans_decode_avx2(cursors_.data(), count_, *vector_tables_, next_row_, n, columns_, out,
                       stride, lanes_);
    }
    next_row_ += n;
    return;
  }
  // The reference loop.
  const int64_t groups = columns_ / lanes_;
  for (int b = 0; b < count_; ++b) {
    RansCursor& c = cursors_[static_cast<size_t>(b)];
    const int precision = c.tables[0]->precision();
    const uint32_t mask = (1u << precision) - 1;
    uint32_t* state = c.state;
    const uint8_t* ptr = c.ptr;
    for (int64_t r = 0; r < n; ++r) {
      uint8_t* row = out[b] + r * stride;
      int64_t k = 0;
      for (int64_t g = 0; g < groups; ++g) {
        for (int i = 0; i < lanes_; ++i, ++k) {
          const FreqTable& table = *c.tables[k];
          uint32_t x = state[i];
          const uint32_t slot = x & mask;
          const int s = table.find(slot);
          x = table.freq(s) * (x >> precision) + slot - table.start(s);
          while (x < kRansLow) {
            if (ptr == c.end) {
              fail("rANS stream at byte offset ", c.file_offset, ": runs out of bytes at row ",
                   next_row_ + r, ", column ", k, " (corrupted)");
            }
            x = (x << 8) | *ptr++;
          }
          state[i] = x;
          row[k] = static_cast<uint8_t>(s);
        }
      }
    }
    c.ptr = ptr;
  }
  next_row_ += n;
}

void RansBatchDecoder::finish() const {
  if (next_row_ != rows_)
    fail("rANS: ", rows_ - next_row_, " rows of the block were not decoded");
  for (const RansCursor& c : cursors_) {
    for (int i = 0; i < lanes_; ++i) {
      if (c.state[i] != kRansLow) {
        fail("rANS stream at byte offset ", c.file_offset, ": lane ", i,
             " does not end in the initial state (corrupted)");
      }
    }
    if (c.ptr != c.end) {
      fail("rANS stream at byte offset ", c.file_offset, ": ", c.end - c.ptr,
           " bytes left over after decoding (corrupted)");
    }
  }
}

}  // namespace cachegen
