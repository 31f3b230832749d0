#include "cachegen/core/safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {

TEST(Safetensors, KVRoundTripsThroughAFile) {
  SyntheticKVSpec spec;
  spec.shape = {2, 5, 2, 4};
  spec.dtype = DType::kBF16;
  KVCache kv = make_synthetic_kv(spec);
  std::string path = ::testing::TempDir() + "/kv.safetensors";
  save_kv(path, kv, "synthetic");
  KVCache back = load_kv(path);
  ASSERT_EQ(back.shape(), kv.shape());
  ASSERT_EQ(back.dtype(), DType::kBF16);
  EXPECT_EQ(std::memcmp(back.data(), kv.data(), kv.byte_size()), 0);
  EXPECT_EQ(SafetensorsFile::load(path).metadata.at("model"), "synthetic");
  std::remove(path.c_str());
}

TEST(Safetensors, TruncatedFileIsRejectedWithTheTensorName) {
  KVCache kv(KVShape{1, 4, 1, 4}, DType::kF16);
  SafetensorsFile file;
  SafetensorsTensor t{"F16", {1, 2, 4, 1, 4}, std::vector<uint8_t>(kv.byte_size())};
  file.tensors.emplace("kv", t);
  std::vector<uint8_t> bytes = file.serialize();
  for (size_t cut : {size_t{0}, size_t{5}, size_t{20}, bytes.size() - 1}) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    EXPECT_THROW(SafetensorsFile::parse(part, "x.safetensors"), Error) << cut;
  }
  try {
    std::vector<uint8_t> part(bytes.begin(), bytes.end() - 1);
    SafetensorsFile::parse(part, "x.safetensors");
    FAIL() << "a payload one byte short was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'kv'"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, BadJsonHeaderIsAnError) {
  std::vector<uint8_t> bytes(8 + 4);
  bytes[0] = 4;
  std::memcpy(bytes.data() + 8, "{x:1", 4);
  EXPECT_THROW(SafetensorsFile::parse(bytes, "bad.safetensors"), Error);
}

}  // namespace cachegen
