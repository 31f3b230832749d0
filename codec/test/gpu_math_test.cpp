// The GPU kernels' arithmetic (codec/cuda/include/cachegen/codec/cuda/device_math.h) checked
// against the CPU codec on the CPU, and the kernels' warp schedule emulated lane by lane: the
// byte order a warp of 32 lanes reads and writes (an exclusive prefix sum of refill counts) must
// be exactly rans_coder.cpp's. Runs with or without CUDA; the GPU itself is checked by
// codec/cuda/test/gpu_codec_check.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "cachegen/codec/cuda/device_math.h"
#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/core/dtype.h"

namespace cachegen {
namespace {

std::vector<float> awkward_floats(size_t random_count) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.0f,
                          65504.0f,
                          65519.0f,
                          65520.0f,
                          -65520.0f,
                          6.1e-5f,
                          5.96e-8f,
                          2.98e-8f,
                          1e-40f,
                          3.0e38f,
                          0.1f,
                          1.0f / 3.0f,
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()};
  std::mt19937 rng_engine(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (size_t i = 0; i < random_count; ++i) {
    float f = bits_float(bits(rng_engine));
    if (std::isfinite(f))
      v.push_back(f);
  }
  return v;
}

// The element accessors the kernels use (load_element / store_element / round_to_element)
// against core's bulk conversions (to_float / from_float, which read f16 through a table) and
// round_to_dtype. (The f16 / bf16 bit conversions themselves are core's float_formats.h.)
TEST(GpuMath, ElementAccessMatchesCore) {
  const std::vector<float> values = awkward_floats(200000);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const int code = static_cast<int>(dtype);
    std::vector<uint8_t> core_bytes(values.size() * dtype_size(dtype));
    std::vector<uint8_t> gpu_bytes(core_bytes.size());
    from_float(dtype, values.data(), core_bytes.data(), int64_t(values.size()));
    for (size_t i = 0; i < values.size(); ++i)
      gpu::store_element(gpu_bytes.data(), int64_t(i), code, values[i]);
    ASSERT_EQ(gpu_bytes, core_bytes) << dtype_name(dtype);
    std::vector<float> back(values.size());
    to_float(dtype, core_bytes.data(), back.data(), int64_t(values.size()));
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_EQ(float_bits(gpu::load_element(core_bytes.data(), int64_t(i), code)),
                float_bits(back[i]))
          << dtype_name(dtype) << " " << values[i];
      ASSERT_EQ(float_bits(gpu::round_to_element(values[i], code)),
                float_bits(round_to_dtype(values[i], dtype)))
          << dtype_name(dtype) << " " << values[i];
    }
  }
}

TEST(GpuMath, QuantizationMatchesQuantizeH) {
  std::mt19937 rng_engine(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int max_level : {1, 5, 7, 15, 127}) {
    std::vector<float> x(997);
    for (float& v : x)
      v = normal(rng_engine);
    x[5] = 0.0f;
    const float scale = absmax(x.data(), int64_t(x.size()));
    std::vector<uint8_t> q(x.size());
    quantize_symmetric(x.data(), int64_t(x.size()), scale, max_level, q.data());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(gpu::quantize_value(x[i], scale, max_level), q[i]);
      ASSERT_EQ(float_bits(gpu::dequantize_value(q[i], max_level, scale)),
                float_bits(dequantize_symmetric(q[i], max_level, scale)));
    }
    EXPECT_EQ(gpu::quantize_value(1.5f, 0.0f, max_level), max_level);  // all-zero vector
  }
}

TEST(GpuMath, TablesMatchFreqTable) {
  std::mt19937 rng_engine(11);
  for (int trial = 0; trial < 3000; ++trial) {
    const int alphabet = 1 + int(uint32_t(rng_engine()) % 255);
    const int precision =
        kMinPrecision + int(uint32_t(rng_engine()) % (kMaxPrecision - kMinPrecision + 1));
    if (alphabet > (1 << precision))
      continue;
    const bool all = uint32_t(rng_engine()) % 3 == 0;
    std::vector<uint32_t> counts(size_t(alphabet), 0);
    const int mode = trial % 4;  // skewed, sparse, all zero, huge
    for (auto& c : counts) {
      if (mode == 0)
        c = uint32_t(rng_engine()) % 7 == 0 ? uint32_t(rng_engine()) % 100000
                                            : uint32_t(rng_engine()) % 3;
      else if (mode == 1)
        c = uint32_t(rng_engine()) % 10 == 0 ? 1 : 0;
      else if (mode == 3)
        c = uint32_t(rng_engine()) % 4000000000u / uint32_t(alphabet);
    }
    FreqTable table = FreqTable::from_counts(counts.data(), alphabet, precision, all);
    std::vector<uint32_t> cdf(size_t(alphabet) + 1);
    gpu::build_cdf(counts.data(), alphabet, precision, all, cdf.data());
    ASSERT_EQ(cdf, table.cdf()) << "trial " << trial;
    const int top = gpu::top_step(alphabet);
    std::vector<uint16_t> compact(static_cast<size_t>(alphabet));
    const int used = gpu::compact_cdf(cdf.data(), alphabet, precision, compact.data());
    for (uint32_t slot = 0; slot < (1u << precision); slot += 1 + uint32_t(rng_engine()) % 97) {
      const int s = table.find(slot);
      ASSERT_EQ(gpu::find_symbol(cdf.data(), alphabet, top, slot), s);
      uint32_t start = 0, freq = 0;
      ASSERT_EQ(gpu::find_symbol_compact(compact.data(), used, top, slot, precision, start, freq),
                s);
      ASSERT_EQ(start, table.start(s));
      ASSERT_EQ(freq, table.freq(s));
    }
    // The last slot, where trailing zero-frequency symbols would trip an uncompacted u16 CDF.
    uint32_t start = 0, freq = 0;
    const uint32_t last = (1u << precision) - 1;
    ASSERT_EQ(gpu::find_symbol_compact(compact.data(), used, top, last, precision, start, freq),
              table.find(last));
  }
}

// The decode kernel's schedule on one stream, lane by lane.
std::vector<uint8_t> warp_decode(const std::vector<uint8_t>& stream, int64_t rows, int columns,
                                 int lanes, const std::vector<FreqTable>& tables) {
  const int width = 32, lpt = (lanes + 31) / 32;  // lanes of step j: [32j, min(32j + 32, lanes))
  std::vector<uint32_t> x(static_cast<size_t>(lanes));
  for (int i = 0; i < lanes; ++i)
    std::memcpy(&x[size_t(i)], stream.data() + 4 * i, 4);
  size_t pos = 4 * size_t(lanes);
  std::vector<uint8_t> out(static_cast<size_t>(rows * columns));
  for (int64_t r = 0; r < rows; ++r) {
    for (int g = 0; g < columns / lanes; ++g) {
      for (int j = 0; j < lpt; ++j) {
        std::vector<int> n(static_cast<size_t>(width)), before(static_cast<size_t>(width));
        std::vector<uint32_t> v(static_cast<size_t>(width));
        int total = 0;
        for (int lane = 0; lane < width; ++lane) {  // decode, then the warp's prefix sum
          const int k = g * lanes + j * width + lane;
          if (j * width + lane >= lanes)
            break;
          const std::vector<uint32_t>& cdf = tables[size_t(k)].cdf();
          const int alphabet = tables[size_t(k)].alphabet();
          uint32_t state = x[size_t(j * width + lane)];
          const int precision = tables[size_t(k)].precision();
          const uint32_t slot = state & ((1u << precision) - 1);
          const int s = gpu::find_symbol(cdf.data(), alphabet, gpu::top_step(alphabet), slot);
          v[size_t(lane)] = gpu::rans_advance(state, cdf[size_t(s)],
                                              cdf[size_t(s) + 1] - cdf[size_t(s)], precision);
          n[size_t(lane)] = gpu::rans_refill_bytes(v[size_t(lane)]);
          before[size_t(lane)] = total;
          total += n[size_t(lane)];
          out[size_t(r * columns + k)] = uint8_t(s);
        }
        EXPECT_LE(pos + size_t(total), stream.size());
        for (int lane = 0; lane < width && j * width + lane < lanes; ++lane) {
          uint32_t state = v[size_t(lane)];
          for (int b = 0; b < n[size_t(lane)]; ++b)
            state = state << 8 | stream[pos + size_t(before[size_t(lane)] + b)];
          x[size_t(j * width + lane)] = state;
        }
        pos += size_t(total);
      }
    }
  }
  EXPECT_EQ(pos, stream.size());
  for (uint32_t state : x)
    EXPECT_EQ(state, gpu::kRansLowBound);
  return out;
}

// The encode kernel's schedule: backwards, each step's bytes placed by the prefix sum.
std::vector<uint8_t> warp_encode(const std::vector<uint8_t>& symbols, int64_t rows, int columns,
                                 int lanes, const std::vector<FreqTable>& tables) {
  const int width = 32, lpt = (lanes + 31) / 32;
  std::vector<uint32_t> x(size_t(lanes), gpu::kRansLowBound);
  std::vector<uint8_t> buffer(static_cast<size_t>(2 * rows * columns + 4 * lanes));
  size_t ptr = buffer.size();
  for (int64_t r = rows - 1; r >= 0; --r) {
    for (int g = columns / lanes - 1; g >= 0; --g) {
      for (int j = lpt - 1; j >= 0; --j) {
        std::vector<int> n(static_cast<size_t>(width)), before(static_cast<size_t>(width));
        int total = 0;
        for (int lane = 0; lane < width && j * width + lane < lanes; ++lane) {
          const int k = g * lanes + j * width + lane;
          const FreqTable& t = tables[size_t(k)];
          n[size_t(lane)] = gpu::rans_emit_bytes(
              x[size_t(j * width + lane)], t.freq(symbols[size_t(r * columns + k)]), t.precision());
          before[size_t(lane)] = total;
          total += n[size_t(lane)];
        }
        const size_t base = ptr - size_t(total);
        for (int lane = 0; lane < width && j * width + lane < lanes; ++lane) {
          const int k = g * lanes + j * width + lane;
          const FreqTable& t = tables[size_t(k)];
          const int s = symbols[size_t(r * columns + k)];
          uint32_t& state = x[size_t(j * width + lane)];
          const size_t at = base + size_t(before[size_t(lane)]);
          if (n[size_t(lane)] == 2) {
            buffer[at] = uint8_t(state >> 8);
            buffer[at + 1] = uint8_t(state);
          } else if (n[size_t(lane)] == 1) {
            buffer[at] = uint8_t(state);
          }
          state =
              gpu::rans_put(state >> (8 * n[size_t(lane)]), t.start(s), t.freq(s), t.precision());
        }
        ptr = base;
      }
    }
  }
  ptr -= 4 * size_t(lanes);
  for (int i = 0; i < lanes; ++i)
    std::memcpy(buffer.data() + ptr + 4 * size_t(i), &x[size_t(i)], 4);
  return std::vector<uint8_t>(buffer.begin() + std::ptrdiff_t(ptr), buffer.end());
}

TEST(GpuMath, WarpScheduleMatchesCpuRans) {
  std::mt19937 rng_engine(5);
  struct Case {
    int64_t rows;
    int columns, lanes, alphabet, precision;
  };
  for (const Case& c :
       {Case{300, 128, 32, 31, 16}, Case{7, 96, 32, 15, 12}, Case{50, 40, 20, 11, 8},
        Case{33, 256, 64, 255, 16}, Case{9, 512, 128, 31, 10}, Case{1, 32, 32, 2, 16},
        Case{64, 3, 3, 5, 16}, Case{20, 256, 256, 31, 16}, Case{17, 192, 48, 31, 16},
        Case{11, 200, 100, 13, 14}}) {
    std::vector<uint8_t> symbols(static_cast<size_t>(c.rows * c.columns));
    std::vector<FreqTable> tables;
    std::geometric_distribution<int> skew(0.3);
    for (int k = 0; k < c.columns; ++k) {
      std::vector<uint32_t> counts(size_t(c.alphabet), 0);
      const int spread = 1 + k % 5;
      for (int64_t r = 0; r < c.rows; ++r) {
        int s =
            std::min(c.alphabet - 1, k % 3 == 0 ? int(uint32_t(rng_engine()) % uint32_t(c.alphabet))
                                                : skew(rng_engine) * spread % c.alphabet);
        symbols[size_t(r * c.columns + k)] = uint8_t(s);
        ++counts[size_t(s)];
      }
      tables.push_back(FreqTable::from_counts(counts.data(), c.alphabet, c.precision, false));
    }
    std::vector<const FreqTable*> ptrs;
    for (const FreqTable& t : tables)
      ptrs.push_back(&t);
    std::vector<uint8_t> cpu;
    rans_encode(symbols.data(), c.rows, c.columns, c.columns, c.lanes, ptrs.data(), cpu);
    EXPECT_EQ(warp_encode(symbols, c.rows, c.columns, c.lanes, tables), cpu)
        << c.columns << " columns, " << c.lanes << " lanes";
    EXPECT_EQ(warp_decode(cpu, c.rows, c.columns, c.lanes, tables), symbols);
  }
}

TEST(GpuMath, PlaneRowTokens) {
  EXPECT_EQ(gpu::plane_row_token(0, 5, 0), 5);
  // delta group 10: anchors 0, 10, 20; others 1..9, 11..19, ...
  std::vector<int64_t> anchors, others;
  for (int64_t t = 0; t < 35; ++t)
    (t % 10 == 0 ? anchors : others).push_back(t);
  for (size_t r = 0; r < anchors.size(); ++r)
    EXPECT_EQ(gpu::plane_row_token(1, int64_t(r), 10), anchors[r]);
  for (size_t r = 0; r < others.size(); ++r)
    EXPECT_EQ(gpu::plane_row_token(0, int64_t(r), 10), others[r]);
}

}  // namespace
}  // namespace cachegen
