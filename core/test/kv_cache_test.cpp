#include "cachegen/core/kv_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cachegen/core/error.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {

TEST(KVCache, SliceThenConcatIsIdentity) {
  SyntheticKVSpec spec;
  spec.shape = {3, 37, 2, 8};
  KVCache kv = make_synthetic_kv(spec);
  KVCache joined = KVCache::concat_tokens(
      {kv.slice_tokens(0, 10), kv.slice_tokens(10, 0), kv.slice_tokens(10, 27)});
  ASSERT_EQ(joined.shape(), kv.shape());
  EXPECT_EQ(std::memcmp(joined.data(), kv.data(), kv.byte_size()), 0);
}

TEST(KVCache, SyntheticIsDeterministicAndLocal) {
  SyntheticKVSpec spec;
  spec.shape = {2, 200, 1, 16};
  KVCache a = make_synthetic_kv(spec);
  KVCache b = make_synthetic_kv(spec);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.byte_size()), 0);
  // Token-wise locality: neighbouring tokens differ less than distant ones.
  double near = 0, far = 0;
  for (int64_t t = 0; t + 100 < 200; ++t) {
    near += std::fabs(a.at(1, kValue, t + 1, 3) - a.at(1, kValue, t, 3));
    far += std::fabs(a.at(1, kValue, t + 100, 3) - a.at(1, kValue, t, 3));
  }
  EXPECT_LT(near, far);
}

TEST(KVCache, CheckFiniteNamesThePlace) {
  KVCache kv(KVShape{2, 4, 1, 4}, DType::kF32);
  float bad[4] = {0, 0, std::numeric_limits<float>::infinity(), 0};
  kv.store_row(1, kValue, 3, bad);
  try {
    kv.check_finite("input");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1, value, token 3, channel 2"), std::string::npos)
        << e.what();
  }
}

TEST(KVCache, ConcatRejectsMismatchedShapes) {
  KVCache a(KVShape{2, 4, 1, 4}, DType::kF16), b(KVShape{2, 4, 1, 8}, DType::kF16);
  EXPECT_THROW(KVCache::concat_tokens({a, b}), Error);
}

}  // namespace cachegen
