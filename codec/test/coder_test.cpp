// Entropy coders: bit-exact round trips over edge-case distributions, rANS and the arithmetic
// coder agreeing, and payload size against the ideal code length under the coder's own tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cachegen/codec/arith_coder.h"
#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/core/error.h"
#include "quantize_rows.h"
#include "symbol_lookup.h"

namespace cachegen {
namespace {

struct Block {
  int64_t rows, columns;
  int alphabet;
  std::vector<uint8_t> symbols;  // [rows, columns]
};

// Per column, a two-sided geometric distribution around the centre with a column-specific
// spread (like quantized KV); `spread` 0 gives a constant column.
Block make_block(int64_t rows, int64_t columns, int alphabet, double spread, uint32_t seed) {
  Block b{rows, columns, alphabet, std::vector<uint8_t>(static_cast<size_t>(rows * columns))};
  std::mt19937 rng(seed);
  for (int64_t k = 0; k < columns; ++k) {
    double s = spread * (0.5 + static_cast<double>(k % 7) / 7.0);
    std::geometric_distribution<int> geo(s > 0 ? 1.0 / (1.0 + s) : 1.0);
    for (int64_t r = 0; r < rows; ++r) {
      int v = alphabet / 2 + (rng() % 2 ? geo(rng) : -geo(rng));
      b.symbols[static_cast<size_t>(r * columns + k)] =
          static_cast<uint8_t>(std::min(std::max(v, 0), alphabet - 1));
    }
  }
  return b;
}

std::vector<FreqTable> tables_for(const Block& b, int precision) {
  std::vector<FreqTable> tables;
  for (int64_t k = 0; k < b.columns; ++k) {
    std::vector<uint32_t> counts(static_cast<size_t>(b.alphabet), 0);
    for (int64_t r = 0; r < b.rows; ++r)
      ++counts[b.symbols[static_cast<size_t>(r * b.columns + k)]];
    tables.push_back(FreqTable::from_counts(counts.data(), b.alphabet, precision, false));
  }
  return tables;
}

double model_bits(const Block& b, const std::vector<FreqTable>& tables) {
  double bits = 0;
  for (int64_t r = 0; r < b.rows; ++r) {
    for (int64_t k = 0; k < b.columns; ++k) {
      const FreqTable& t = tables[static_cast<size_t>(k)];
      bits += t.precision() - std::log2(t.freq(b.symbols[static_cast<size_t>(r * b.columns + k)]));
    }
  }
  return bits;
}

struct RoundTrip {
  size_t rans_bytes, arith_bytes;
};

RoundTrip round_trip(const Block& b, int precision, int lanes) {
  std::vector<FreqTable> tables = tables_for(b, precision);
  std::vector<const FreqTable*> ptrs;
  for (const auto& t : tables)
    ptrs.push_back(&t);
  std::vector<uint8_t> rans, arith;
  rans_encode(b.symbols.data(), b.rows, b.columns, b.columns, lanes, ptrs.data(), rans);
  arith_encode(b.symbols.data(), b.rows, b.columns, b.columns, ptrs.data(), arith);
  std::vector<uint8_t> from_rans(b.symbols.size()), from_arith(b.symbols.size());
  rans_decode(rans.data(), rans.size(), 0, b.rows, b.columns, b.columns, lanes, ptrs.data(),
              from_rans.data());
  arith_decode(arith.data(), arith.size(), 0, b.rows, b.columns, b.columns, ptrs.data(),
               from_arith.data());
  EXPECT_EQ(from_rans, b.symbols);
  EXPECT_EQ(from_arith, b.symbols);
  return {rans.size(), arith.size()};
}

TEST(FreqTable, NormalizesExactlyAndKeepsUsedSymbols) {
  uint32_t counts[5] = {1, 0, 1000000, 3, 0};
  FreqTable t = FreqTable::from_counts(counts, 5, 12, false);
  EXPECT_EQ(t.cdf().back(), 4096u);
  EXPECT_GE(t.freq(0), 1u);
  EXPECT_EQ(t.freq(1), 0u);
  EXPECT_GE(t.freq(3), 1u);
  FreqTable all = FreqTable::from_counts(counts, 5, 12, true);
  for (int s = 0; s < 5; ++s)
    EXPECT_GE(all.freq(s), 1u);
}

// from_counts against the rule written out plainly (64-bit shares, at least 1 for a counted
// symbol, the remainder to the largest, lowest index first), on totals that take its 32-bit
// division and totals that need 64 bits.
TEST(FreqTable, SharesFollowThePlainRuleOnSmallAndHugeTotals) {
  std::mt19937 rng(4);
  for (uint32_t scale : {1u, 1000u, 100000u, 4000000000u}) {
    for (int precision : {8, 12, 16}) {
      for (int trial = 0; trial < 20; ++trial) {
        const int alphabet = 1 + static_cast<int>(rng() % 40);
        std::vector<uint32_t> counts(static_cast<size_t>(alphabet));
        for (auto& c : counts)
          c = rng() % 3 == 0 ? 0 : static_cast<uint32_t>(rng() % (scale / 40 + 1));
        const FreqTable t = FreqTable::from_counts(counts.data(), alphabet, precision, false);
        uint64_t total = 0;
        for (uint32_t c : counts)
          total += c;
        std::vector<uint64_t> freq(counts.size(), 0);
        const uint64_t slots = uint64_t{1} << precision;
        uint64_t sum = 0;
        for (size_t s = 0; s < counts.size(); ++s) {
          if (total == 0)
            freq[s] = s == 0 ? slots : 0;
          else if (counts[s] > 0)
            freq[s] = std::max<uint64_t>(1, counts[s] * slots / total);
          sum += freq[s];
        }
        while (sum != slots) {
          const size_t top =
              static_cast<size_t>(std::max_element(freq.begin(), freq.end()) - freq.begin());
          const uint64_t change = sum < slots ? slots - sum : std::min(sum - slots, freq[top] - 1);
          freq[top] = sum < slots ? freq[top] + change : freq[top] - change;
          sum = sum < slots ? sum + change : sum - change;
        }
        for (int s = 0; s < alphabet; ++s)
          ASSERT_EQ(t.freq(s), freq[static_cast<size_t>(s)]) << "symbol " << s;
      }
    }
  }
}

TEST(FreqTable, FastFindMatchesBinarySearch) {
  Block b = make_block(500, 9, 33, 2.0, 3);
  for (int precision : {8, 12, 16}) {
    for (const FreqTable& t : tables_for(b, precision)) {
      for (uint32_t slot = 0; slot < (1u << precision); ++slot) {
        ASSERT_EQ(t.find(slot), t.find_reference(slot)) << slot;
      }
    }
  }
}

TEST(FreqTable, RejectsBadPrecisionAndAlphabet) {
  uint32_t counts[4] = {1, 2, 3, 4};
  EXPECT_THROW(FreqTable::from_counts(counts, 4, 17, false), Error);
  EXPECT_THROW(FreqTable::from_counts(counts, 4, 7, false), Error);
  EXPECT_THROW(FreqTable::from_counts(counts, 0, 16, false), Error);
}

TEST(Coders, RoundTripEdgeCases) {
  round_trip(make_block(1, 1, 31, 2.0, 1), 16, 1);        // one symbol
  round_trip(make_block(1, 128, 31, 2.0, 1), 16, 32);     // one token, many lanes
  round_trip(make_block(1537, 64, 15, 1.5, 2), 16, 32);   // chunk size + 1
  round_trip(make_block(1535, 64, 15, 1.5, 2), 16, 16);   // chunk size - 1
  round_trip(make_block(300, 32, 255, 40.0, 3), 16, 32);  // the largest alphabet
  round_trip(make_block(300, 8, 255, 40.0, 3), 8, 8);     // largest alphabet, 8-bit tables
  round_trip(make_block(0, 32, 31, 2.0, 4), 16, 32);      // no rows
}

TEST(Coders, ConstantSymbolsCostNothingButTheFlush) {
  Block b = make_block(2000, 32, 31, 0.0, 5);  // every column constant: zero entropy
  RoundTrip sizes = round_trip(b, 16, 32);
  EXPECT_EQ(sizes.rans_bytes, 32u * 4);  // only the lanes' final states
  EXPECT_LE(sizes.arith_bytes, 1u);      // only the termination bits
}

TEST(Coders, UniformSymbolsRoundTrip) {
  Block b{400, 16, 16, std::vector<uint8_t>(400 * 16)};
  std::mt19937 rng(6);
  for (auto& s : b.symbols)
    s = static_cast<uint8_t>(rng() % 16);
  RoundTrip sizes = round_trip(b, 16, 16);
  double ideal_bytes = 400.0 * 16 * 4 / 8;  // 4 bits per symbol
  EXPECT_LT(static_cast<double>(sizes.rans_bytes), ideal_bytes * 1.02 + 64);
}

TEST(Coders, PayloadWithinOnePercentOfModelEntropyAt16Bits) {
  // A KV-like block: 1536 tokens, 128 channels, 2-3 bits per symbol; one rANS stream of
  // 32 lanes x 4 channels per lane, and one arithmetic-coded stream per channel.
  Block b = make_block(1536, 128, 31, 1.2, 7);
  std::vector<FreqTable> tables = tables_for(b, 16);
  double ideal = model_bits(b, tables);
  RoundTrip sizes = round_trip(b, 16, 32);
  EXPECT_LT(8.0 * static_cast<double>(sizes.rans_bytes), ideal * 1.01);
  EXPECT_LT(8.0 * static_cast<double>(sizes.arith_bytes), ideal * 1.01);
}

// Every vector decoder (AVX2, AVX-512) against the scalar reference: lane counts each kernel
// takes or declines, alphabets up to 31 symbols, zero-frequency holes between used symbols, a
// batch of streams decoded together and alone, row blocks of several sizes, truncated streams.
TEST(Coders, VectorKernelsMatchTheScalarReference) {
  int kernels_run = 0;
  for (RansKernel kernel : {RansKernel::kAvx2, RansKernel::kAvx512}) {
    if (!rans_kernel_supported(kernel))
      continue;
    ++kernels_run;
    for (int lanes : {8, 16, 24, 32}) {
      for (int alphabet : {3, 15, 31}) {
        const int precision = alphabet == 15 ? 10 : 16;
        // A batch of 3 streams with different data and tables, decoded together and alone.
        std::vector<Block> blocks;
        std::vector<std::vector<FreqTable>> tables;
        std::vector<std::vector<const FreqTable*>> ptrs;
        std::vector<std::vector<uint8_t>> encoded;
        for (uint32_t seed = 0; seed < 3; ++seed) {
          blocks.push_back(make_block(777, 4 * lanes, alphabet, 0.8 + seed, 20 + seed));
          // Holes: every third symbol of one column moves to its neighbour, so that its table
          // has zero frequencies between used symbols.
          for (int64_t r = 0; r < blocks.back().rows; ++r) {
            uint8_t& v = blocks.back().symbols[static_cast<size_t>(r * blocks.back().columns + 3)];
            if (v % 3 == 1 && v + 1 < alphabet)
              ++v;
          }
          tables.push_back(tables_for(blocks.back(), precision));
        }
        for (size_t b = 0; b < blocks.size(); ++b) {
          ptrs.emplace_back();
          for (const auto& t : tables[b])
            ptrs.back().push_back(&t);
          encoded.emplace_back();
          rans_encode(blocks[b].symbols.data(), blocks[b].rows, blocks[b].columns,
                      blocks[b].columns, lanes, ptrs[b].data(), encoded[b], RansKernel::kScalar);
        }
        std::vector<std::vector<uint8_t>> scalar(3), vector(3);
        std::vector<RansStream> batch;
        for (size_t b = 0; b < blocks.size(); ++b) {
          scalar[b].resize(blocks[b].symbols.size());
          vector[b].resize(blocks[b].symbols.size());
          rans_decode(encoded[b].data(), encoded[b].size(), 0, blocks[b].rows, blocks[b].columns,
                      blocks[b].columns, lanes, ptrs[b].data(), scalar[b].data(),
                      RansKernel::kScalar);
          batch.push_back(
              {encoded[b].data(), encoded[b].size(), 0, ptrs[b].data(), vector[b].data()});
        }
        rans_decode_batch(batch.data(), 3, blocks[0].rows, blocks[0].columns, blocks[0].columns,
                          lanes, kernel);
        const std::string where =
            str("kernel ", static_cast<int>(kernel), " lanes ", lanes, " alphabet ", alphabet);
        for (size_t b = 0; b < blocks.size(); ++b) {
          EXPECT_EQ(scalar[b], blocks[b].symbols) << where;
          EXPECT_EQ(vector[b], blocks[b].symbols) << where;
        }
        // In blocks of 1, 50 and the rest of the rows, into a buffer of one block.
        const int64_t columns = blocks[0].columns;
        RansBatchDecoder decoder(batch.data(), 3, blocks[0].rows, columns, lanes, kernel);
        std::vector<uint8_t> block_out(static_cast<size_t>(3 * 726 * columns));
        uint8_t* outs[3] = {block_out.data(), block_out.data() + 726 * columns,
                            block_out.data() + 2 * 726 * columns};
        int64_t row = 0;
        for (int64_t n : {int64_t{1}, int64_t{50}, int64_t{726}}) {
          decoder.decode(n, outs, columns);
          for (int b = 0; b < 3; ++b) {
            ASSERT_TRUE(std::equal(outs[b], outs[b] + n * columns,
                                   blocks[static_cast<size_t>(b)].symbols.begin() + row * columns))
                << where << " rows from " << row;
          }
          row += n;
        }
        decoder.finish();
        // A truncated stream fails under both kernels.
        for (RansKernel k : {RansKernel::kScalar, kernel}) {
          EXPECT_THROW(rans_decode(encoded[0].data(), encoded[0].size() / 2, 0, blocks[0].rows,
                                   blocks[0].columns, blocks[0].columns, lanes, ptrs[0].data(),
                                   vector[0].data(), k),
                       Error)
              << where;
        }
      }
    }
  }
  if (kernels_run == 0)
    GTEST_SKIP() << "no AVX2 on this CPU: only the scalar decoder exists here";
}

// The AVX-512 encoder writes the scalar encoder's bytes: constant columns (frequency 2^precision),
// frequency-1 symbols (precision 8, wide alphabets), a strided block, several lane counts, and
// shapes it declines (columns not a multiple of 16: the scalar loop runs).
TEST(Coders, VectorEncoderWritesTheScalarEncodersBytes) {
  if (!rans_kernel_supported(RansKernel::kAvx512))
    GTEST_SKIP() << "no AVX-512 on this CPU";
  struct Case {
    int lanes, channels_per_lane, alphabet, precision;
    double spread;
  };
  const Case cases[] = {{16, 4, 31, 16, 1.2},  {32, 4, 31, 16, 0.0},   {32, 2, 3, 10, 0.5},
                        {64, 1, 200, 8, 40.0}, {16, 1, 255, 16, 90.0}, {32, 4, 15, 12, 3.0},
                        {8, 2, 31, 16, 1.0},   {1, 3, 7, 16, 1.0}};
  for (const Case& c : cases) {
    const int64_t columns = c.lanes * c.channels_per_lane, stride = columns + 5;
    Block b =
        make_block(301, stride, c.alphabet, c.spread, static_cast<uint32_t>(c.lanes + c.alphabet));
    Block view = b;  // the first `columns` of each row: tables of those columns
    view.columns = columns;
    view.symbols.clear();
    for (int64_t r = 0; r < b.rows; ++r)
      for (int64_t k = 0; k < columns; ++k)
        view.symbols.push_back(b.symbols[static_cast<size_t>(r * stride + k)]);
    std::vector<FreqTable> tables = tables_for(view, c.precision);
    std::vector<const FreqTable*> ptrs;
    for (const auto& t : tables)
      ptrs.push_back(&t);
    std::vector<uint8_t> scalar{1, 2, 3}, vector{1, 2, 3};  // appended to what is there
    rans_encode(b.symbols.data(), b.rows, columns, stride, c.lanes, ptrs.data(), scalar,
                RansKernel::kScalar);
    rans_encode(b.symbols.data(), b.rows, columns, stride, c.lanes, ptrs.data(), vector,
                RansKernel::kAvx512);
    EXPECT_EQ(vector, scalar) << "lanes " << c.lanes << " alphabet " << c.alphabet << " precision "
                              << c.precision;
    std::vector<uint8_t> decoded(view.symbols.size());
    rans_decode(vector.data() + 3, vector.size() - 3, 0, b.rows, columns, columns, c.lanes,
                ptrs.data(), decoded.data());
    EXPECT_EQ(decoded, view.symbols);
  }
}

// The encoder's row kernels against quantize.h's plain loops: values on the rounding ties
// (x * M / s exactly k + 0.5), tiny and huge scales, every row length around the vector width,
// and non-finite values found at their first index.
TEST(QuantizeRows, VectorPathMatchesThePlainLoops) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int max_level : {1, 3, 7, 15, 127}) {
    for (int64_t n : {0, 1, 7, 8, 9, 31, 128, 1000}) {
      std::vector<float> x(static_cast<size_t>(n));
      for (size_t i = 0; i < x.size(); ++i)
        x[i] =
            i % 3 == 0 ? static_cast<float>(static_cast<int>(rng() % 9) - 4) + 0.5f : normal(rng);
      for (float scale : {0.0f, 1e-30f, static_cast<float>(max_level), 4.5f, 3e30f}) {
        std::vector<uint8_t> fast(x.size()), plain(x.size());
        set_quantize_rows_vectorized(true);
        quantize_row(x.data(), n, scale, max_level, fast.data());
        float fast_max = -1, plain_max = -2;
        int64_t bad = -1;
        ASSERT_TRUE(finite_absmax(x.data(), n, fast_max, bad));
        set_quantize_rows_vectorized(false);
        quantize_row(x.data(), n, scale, max_level, plain.data());
        ASSERT_TRUE(finite_absmax(x.data(), n, plain_max, bad));
        set_quantize_rows_vectorized(true);
        std::vector<uint8_t> reference(x.size());
        quantize_symmetric(x.data(), n, scale, max_level, reference.data());
        EXPECT_EQ(fast, reference) << "levels " << max_level << " n " << n << " scale " << scale;
        EXPECT_EQ(plain, reference);
        EXPECT_EQ(fast_max, absmax(x.data(), n));
        EXPECT_EQ(plain_max, fast_max);
      }
    }
  }
  std::vector<float> row(100, 1.0f);
  for (float bad_value : {NAN, INFINITY, -INFINITY}) {
    for (int64_t at : {0, 7, 63, 99}) {
      row.assign(100, 1.0f);
      row[static_cast<size_t>(at)] = bad_value;
      row[99] = at < 99 ? NAN : row[99];  // a later bad value must not be the one named
      float m = 0;
      int64_t first = -1;
      EXPECT_FALSE(finite_absmax(row.data(), 100, m, first));
      EXPECT_EQ(first, at);
    }
  }
}

TEST(SymbolLookup, VectorPathMatchesThePlainLoop) {
  std::mt19937 rng(5);
  std::vector<uint16_t> table16(512);
  std::vector<uint32_t> table32(256);
  for (auto& v : table16)
    v = static_cast<uint16_t>(rng());
  for (auto& v : table32)
    v = static_cast<uint32_t>(rng());
  for (int alphabet : {1, 3, 17, 31, 32, 33, 255}) {
    for (int64_t count : {0, 1, 15, 16, 31, 32, 33, 1000}) {
      std::vector<uint8_t> symbols(static_cast<size_t>(count));
      for (auto& s : symbols)
        s = static_cast<uint8_t>(rng() % static_cast<unsigned>(alphabet));
      std::vector<uint16_t> a16(symbols.size()), b16(symbols.size());
      std::vector<uint32_t> a32(symbols.size()), b32(symbols.size());
      lookup_u16(symbols.data(), count, table16.data(), alphabet, a16.data());
      lookup_u16_reference(symbols.data(), count, table16.data(), b16.data());
      for (CpuLevel level : {CpuLevel::kAvx2, CpuLevel::kAvx512}) {
        std::vector<uint16_t> on_path(symbols.size());
        if (lookup_u16_on(level, symbols.data(), count, table16.data(), alphabet, on_path.data())) {
          EXPECT_EQ(on_path, b16) << "level " << static_cast<int>(level) << " alphabet " << alphabet
                                  << " count " << count;
        }
      }
      lookup_u32(symbols.data(), count, table32.data(), alphabet, a32.data());
      lookup_u32_reference(symbols.data(), count, table32.data(), b32.data());
      EXPECT_EQ(a16, b16) << "alphabet " << alphabet << " count " << count;
      EXPECT_EQ(a32, b32) << "alphabet " << alphabet << " count " << count;
    }
  }
}

// The dequantizer's f16 level table (vector path) against the plain per-entry conversion:
// every level count the codecs use, scales from subnormal to overflowing f16, zero, infinity
// and NaN.
TEST(SymbolLookup, LevelTableMatchesThePlainConversion) {
  for (int max_level : {1, 2, 3, 7, 15, 31, 127}) {
    for (float scale : {0.0f, -0.0f, 1e-7f, 6e-5f, 0.37f, 1.0f, 3.5f, 1000.0f, 65504.0f, 1e6f,
                        INFINITY, -INFINITY, NAN}) {
      for (int count : {1, 7, 8, 16, 32, 256}) {
        std::vector<uint16_t> fast(static_cast<size_t>(count)), plain(fast.size());
        level_table_f16(max_level, scale, count, fast.data());
        level_table_f16_reference(max_level, scale, count, plain.data());
        EXPECT_EQ(fast, plain) << "levels " << max_level << " scale " << scale << " count "
                               << count;
      }
    }
  }
}

TEST(Coders, CorruptedRansStreamIsAnErrorNotACrash) {
  Block b = make_block(200, 32, 31, 2.0, 8);
  std::vector<FreqTable> tables = tables_for(b, 16);
  std::vector<const FreqTable*> ptrs;
  for (const auto& t : tables)
    ptrs.push_back(&t);
  std::vector<uint8_t> stream;
  rans_encode(b.symbols.data(), b.rows, b.columns, b.columns, 32, ptrs.data(), stream);
  std::vector<uint8_t> out(b.symbols.size());
  int errors = 0;
  for (size_t i = 0; i < stream.size(); i += 7) {
    std::vector<uint8_t> bad = stream;
    bad[i] ^= 0x10;
    try {
      rans_decode(bad.data(), bad.size(), 0, b.rows, b.columns, b.columns, 32, ptrs.data(),
                  out.data());
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  // A lane state no encoder ends in (>= 2^31) is refused up front, under every kernel.
  std::vector<uint8_t> bad_state = stream;
  bad_state[7] = 0x80;  // lane 1's top byte
  for (RansKernel kernel : {RansKernel::kScalar, RansKernel::kAvx2, RansKernel::kAvx512}) {
    if (!rans_kernel_supported(kernel))
      continue;
    try {
      rans_decode(bad_state.data(), bad_state.size(), 0, b.rows, b.columns, b.columns, 32,
                  ptrs.data(), out.data(), kernel);
      ADD_FAILURE() << "a lane state of 2^31 or more was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("lane 1 starts in state"), std::string::npos)
          << e.what();
    }
  }
  for (RansKernel kernel : {RansKernel::kScalar, RansKernel::kAuto}) {
    EXPECT_THROW(rans_decode(stream.data(), stream.size() - 1, 0, b.rows, b.columns, b.columns, 32,
                             ptrs.data(), out.data(), kernel),
                 Error);
  }
}

}  // namespace
}  // namespace cachegen
