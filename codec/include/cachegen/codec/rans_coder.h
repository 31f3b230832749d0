// Interleaved static rANS (32-bit states, byte-wise renormalisation, L = 2^23, probabilities of
// up to 16 bits), after Duda's rANS and Giesen's ryg_rans.
//
// A stream codes a block of symbols [rows, columns] (row-major) where column k has its own table
// and belongs to lane k % lanes. Each lane has its own state; all lanes share one byte stream,
// and the decoder visits symbols in row-major order, each lane refilling from the shared stream
// right after its symbol. So a GPU warp can decode 32 lanes in lock-step (a prefix sum of each
// lane's refill count places its bytes), and a CPU core overlaps the lanes' dependency chains.
//
// Stream layout: the lanes' final encoder states (4 bytes each, little-endian, lane 0 first),
// then the refill bytes. The decoder checks that every lane ends in the initial state L and
// that every byte was consumed, which catches most corruption.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "cachegen/codec/freq_table.h"

namespace cachegen {

constexpr uint32_t kRansLow = 1u << 23;

// Which kernel runs: kAuto picks the fastest this CPU supports within CACHEGEN_CPU_LEVEL
// (cpu_level.h). All give identical bytes and symbols; kScalar is the plain reference the vector
// kernels are tested against. kAvx512 (encoder and decoder) needs AVX-512 F, BW, DQ, VL, VBMI,
// VBMI2 and VPOPCNTDQ (Ice Lake, Zen 4 and later); kAvx2 (decoder only: the encoder runs the
// scalar loop) needs AVX2.
enum class RansKernel { kAuto, kScalar, kAvx2, kAvx512 };
bool rans_kernel_supported(RansKernel kernel);
// What kAuto resolves to for the decoder on this CPU and cap.
RansKernel rans_auto_kernel();

// Appends the stream for symbols[r * stride + k] (r < rows, k < columns) to `out`.
// tables[k] codes column k and must give every symbol it codes a non-zero frequency (tables
// built from the same counts, or with all_symbols, do). columns must be a multiple of lanes.
void rans_encode(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride, int lanes,
                 const FreqTable* const* tables, std::vector<uint8_t>& out,
                 RansKernel kernel = RansKernel::kAuto);

// One stream of a batch: decoded into symbols[r * stride + k] with tables[k].
struct RansStream {
  const uint8_t* data;
  size_t size;
  uint64_t file_offset;
  const FreqTable* const* tables;
  uint8_t* symbols;
};

// Decodes several streams of the same shape at once: the vector kernel interleaves them, which
// hides the latency of each lane's dependency chain. Same result as decoding each alone.
void rans_decode_batch(const RansStream* streams, int count, int64_t rows, int64_t columns,
                       int64_t stride, int lanes, RansKernel kernel = RansKernel::kAuto);

struct RansCursor;
struct RansVectorTables;
struct RansVectorTablesDeleter {
  void operator()(RansVectorTables* tables) const;
};

// rans_decode_batch a block of rows at a time, for a caller that uses each block's symbols while
// they are still in cache (the streams' `symbols` fields are not used):
//   RansBatchDecoder decoder(streams, count, rows, columns, lanes);
//   while (...) decoder.decode(n, out, stride);  // the next n rows of stream b to out[b]
//   decoder.finish();                            // every row decoded, every byte consumed
class RansBatchDecoder {
 public:
  RansBatchDecoder(const RansStream* streams, int count, int64_t rows, int64_t columns, int lanes,
                   RansKernel kernel = RansKernel::kAuto);
  ~RansBatchDecoder();
  RansBatchDecoder(const RansBatchDecoder&) = delete;
  RansBatchDecoder& operator=(const RansBatchDecoder&) = delete;

  // Decodes the next `n` rows of stream b into out[b] + r * stride (r < n). Throws Error
  // (naming the stream's file offset, row and column) on malformed input.
  void decode(int64_t n, uint8_t* const* out, int64_t stride);
  // Checks that all rows were decoded, every lane ended in the initial state and every byte was
  // consumed (which catches most corruption).
  void finish() const;

 private:
  int count_;
  int64_t rows_, columns_, next_row_ = 0;
  int lanes_;
  std::vector<uint32_t> states_;
  std::vector<RansCursor> cursors_;
  RansKernel kernel_;  // kScalar, kAvx2 or kAvx512
  std::unique_ptr<RansVectorTables, RansVectorTablesDeleter> vector_tables_;  // null: scalar
};

// Decodes a stream of exactly `size` bytes into symbols[r * stride + k]. Throws Error (naming
// `file_offset`, the stream's offset in its file) on malformed input.
void rans_decode(const uint8_t* stream, size_t size, uint64_t file_offset, int64_t rows,
                 int64_t columns, int64_t stride, int lanes, const FreqTable* const* tables,
                 uint8_t* symbols, RansKernel kernel = RansKernel::kAuto);

}  // namespace cachegen
