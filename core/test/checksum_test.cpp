#include "cachegen/core/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace cachegen {

TEST(Crc32c, KnownVector) {
  const std::string text = "123456789";  // the standard check value of CRC-32C
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0xe3069283u);
  EXPECT_EQ(crc32c_reference(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
            0xe3069283u);
}

TEST(Crc32c, FastPathMatchesReferenceOnAllLengths) {
  std::mt19937 rng(10);
  std::vector<uint8_t> data(300);
  for (auto& b : data)
    b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= data.size(); ++n) {
    ASSERT_EQ(crc32c(data.data(), n, 7), crc32c_reference(data.data(), n, 7)) << n;
  }
}

}  // namespace cachegen
