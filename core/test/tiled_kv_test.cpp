// tile_kv against the obvious element-by-element definition.
#include "cachegen/core/tiled_kv.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"

namespace cachegen {
namespace {

KVCache numbered(const KVShape& shape) {
  KVCache kv(shape, DType::kF32);
  std::vector<float> row(static_cast<size_t>(shape.channels()));
  for (int64_t l = 0; l < shape.layers; ++l)
    for (int kind = 0; kind < 2; ++kind)
      for (int64_t t = 0; t < shape.tokens; ++t) {
        for (int64_t c = 0; c < shape.channels(); ++c)  // exact in f32 and f16: < 2048
          row[static_cast<size_t>(c)] = static_cast<float>(((l * 2 + kind) * 7 + t) * 5 + c % 5);
        kv.store_row(l, kind, t, row.data());
      }
  return kv;
}

TEST(TiledKV, EveryElementIsItsSourceElement) {
  const KVCache source = numbered({3, 7, 2, 4});  // 8 channels
  const KVShape target{8, 20, 3, 4};              // 12 channels, tokens wrap twice
  for (int64_t offset : {0, 5, -2, 16}) {
    for (DType dtype : {DType::kF32, DType::kF16}) {
      const KVCache tiled = tile_kv(source, target, offset, dtype);
      ASSERT_EQ(tiled.shape(), target);
      ASSERT_EQ(tiled.dtype(), dtype);
      for (int64_t l = 0; l < 8; ++l)
        for (int kind = 0; kind < 2; ++kind)
          for (int64_t t = 0; t < 20; ++t)
            for (int64_t c = 0; c < 12; ++c) {
              const int64_t sl = l * 3 / 8, st = (((t + offset) % 7) + 7) % 7, sc = c % 8;
              ASSERT_EQ(tiled.at(l, kind, t, c), source.at(sl, kind, st, sc))
                  << l << " " << kind << " " << t << " " << c << " offset " << offset;
            }
    }
  }
  // Depth order holds: the first and last target layers take the first and last source layers.
  const KVCache deep = tile_kv(source, {32, 1, 2, 4}, 0, DType::kF32);
  EXPECT_EQ(deep.at(0, 0, 0, 0), source.at(0, 0, 0, 0));
  EXPECT_EQ(deep.at(31, 1, 0, 0), source.at(2, 1, 0, 0));
}

TEST(TiledKV, RefusesEmptyShapes) {
  EXPECT_THROW(tile_kv(KVCache({0, 0, 0, 0}, DType::kF32), {2, 2, 2, 2}, 0, DType::kF16), Error);
  EXPECT_THROW(tile_kv(numbered({1, 2, 1, 2}), {2, 0, 2, 2}, 0, DType::kF16), Error);
}

}  // namespace
}  // namespace cachegen
