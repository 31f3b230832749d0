#include "cachegen/core/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace cachegen {

TEST(DType, HalfRoundTripsEveryFiniteHalf) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    auto h = static_cast<uint16_t>(bits);
    float f = half_to_float(h);
    if (std::isnan(f))
      continue;
    ASSERT_EQ(float_to_half(f), h) << bits;
  }
}

TEST(DType, HalfRoundsToNearestEven) {
  // 1 + 2^-11 lies exactly between 1 and the next half (1 + 2^-10): ties go to even (1).
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 lies between 1 + 2^-10 (odd) and 1 + 2^-9 (even): goes up.
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(70000.0f), 0x7c00);               // overflow -> inf
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);               // largest half
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -26)), 0x0000);  // rounds to zero
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

// Floats whose bits are every combination of sign, exponent and the top 10 mantissa bits (the
// half's own bits and every rounding position of a subnormal half) with low 13 bits at the
// rounding boundaries, then 1M random bit patterns, NaNs with payloads among them.
std::vector<float> half_conversion_inputs() {
  std::vector<float> values;
  const uint32_t low_patterns[] = {0, 1, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x0800, 0x17ff};
  for (uint32_t high = 0; high < (1u << 19); ++high) {
    for (uint32_t low : low_patterns)
      values.push_back(bits_float(high << 13 | low));
  }
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < (1 << 20); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    values.push_back(bits_float(static_cast<uint32_t>(state >> 32)));
  }
  return values;
}

TEST(DType, F16cConversionMatchesTheScalarOneBitForBit) {
  if (!half_kernel_supported(HalfKernel::kF16c))
    GTEST_SKIP() << "no F16C on this CPU";
  const std::vector<float> values = half_conversion_inputs();
  std::vector<uint16_t> fast(values.size() + 3), reference(values.size() + 3);
  // An offset start and an odd count exercise the vector loop's tail (element i converts
  // values[i]).
  const auto count = static_cast<int64_t>(values.size()) - 5;
  floats_to_halves(values.data() + 1, fast.data() + 1, count, HalfKernel::kF16c);
  floats_to_halves(values.data() + 1, reference.data() + 1, count, HalfKernel::kScalar);
  for (int64_t i = 1; i <= count; ++i) {
    ASSERT_EQ(fast[static_cast<size_t>(i)], float_to_half(values[static_cast<size_t>(i)]))
        << "float bits 0x" << std::hex << float_bits(values[static_cast<size_t>(i)]);
    ASSERT_EQ(reference[static_cast<size_t>(i)], fast[static_cast<size_t>(i)]);
  }
  // from_float (every KV store) takes the fast loop and agrees too.
  std::vector<uint16_t> through_dtype(values.size());
  from_float(DType::kF16, values.data(), through_dtype.data(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(through_dtype[i], float_to_half(values[i])) << i;
}

// Every one of the 65,536 halves (NaNs with every payload, signalling ones too), converted at
// an offset start with an odd count, gives half_to_float's bits under both kernels.
TEST(DType, F16cWideningMatchesTheScalarOneBitForBit) {
  std::vector<uint16_t> halves(65536 + 3);
  for (uint32_t i = 0; i < 65536; ++i)
    halves[i + 1] = static_cast<uint16_t>(i);
  for (HalfKernel kernel : {HalfKernel::kScalar, HalfKernel::kF16c}) {
    if (!half_kernel_supported(kernel))
      continue;
    std::vector<float> out(halves.size());
    halves_to_floats(halves.data() + 1, out.data() + 1, 65536 + 1, kernel);
    for (uint32_t i = 0; i <= 65536; ++i) {
      ASSERT_EQ(float_bits(out[i + 1]), float_bits(half_to_float(halves[i + 1])))
          << "half 0x" << std::hex << halves[i + 1] << " kernel " << static_cast<int>(kernel);
    }
  }
  if (!half_kernel_supported(HalfKernel::kF16c))
    GTEST_SKIP() << "no F16C on this CPU: the scalar loop alone was checked";
}

TEST(DType, BfloatRoundsToNearestEven) {
  EXPECT_EQ(float_to_bfloat(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bfloat(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie -> even
  EXPECT_EQ(float_to_bfloat(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(bfloat_to_float(0x3f80), 1.0f);
}

TEST(DType, ParseNamesAndRejectUnknown) {
  EXPECT_EQ(parse_dtype("BF16"), DType::kBF16);
  EXPECT_EQ(parse_dtype("f16"), DType::kF16);
  EXPECT_THROW(parse_dtype("int4"), std::runtime_error);
}

}  // namespace cachegen
