#include "cachegen/experiments/codec_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cachegen/codec/registry.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {
namespace {

TEST(CodecReport, RowsAreConsistent) {
  SyntheticKVSpec spec;
  spec.shape = {4, 256, 2, 32};
  KVCache kv = make_synthetic_kv(spec);
  CodecContext context;
  CodecReportRow identity = measure_codec({"identity", "-", ""}, kv, 128, context, 1);
  EXPECT_EQ(identity.rel_l2_k, 0);
  EXPECT_GT(identity.bits_per_element, 16.0);  // 16 bits plus container metadata
  EXPECT_LT(identity.bits_per_element, 16.5);
  EXPECT_EQ(identity.coding_efficiency, 0);
  CodecReportRow q8 = measure_codec({"quant", "-", "bits=8"}, kv, 128, context, 1);
  CodecReportRow cg = measure_codec({"cachegen", "2", "coder=rans"}, kv, 128, context, 1);
  EXPECT_LT(cg.bits_per_element, q8.bits_per_element / 2);
  // 128-token chunks: each rANS lane's 4-byte flush is a few percent of its payload.
  EXPECT_GT(cg.coding_efficiency, 0.99);
  EXPECT_LT(cg.coding_efficiency, 1.1);
  EXPECT_GT(cg.encode_gbps, 0);
  EXPECT_GT(cg.decode_gbps, 0);
  // The rate is the fp16 bytes over the measured (fastest of the repeats) time.
  EXPECT_NEAR(cg.decode_gbps,
              2.0 * static_cast<double>(kv.shape().elements()) / cg.decode_seconds / 1e9,
              1e-9 * cg.decode_gbps);
  EXPECT_EQ(cg.elements, kv.shape().elements());
  // Its error is the KV's own: decode the same chunks and measure.
  const std::unique_ptr<Codec> codec =
      make_codec("cachegen", Options::parse("level=2;coder=rans", "test"), context);
  const KVCache back = decode_file(encode_chunks(*codec, kv, 128, nullptr), "report test", context);
  double num = 0, den = 0;
  for (int64_t l = 0; l < kv.shape().layers; ++l)
    for (int64_t t = 0; t < kv.shape().tokens; ++t)
      for (int64_t c = 0; c < kv.shape().channels(); ++c) {
        const double x = kv.at(l, kKey, t, c), y = back.at(l, kKey, t, c);
        num += (x - y) * (x - y);
        den += x * x;
      }
  EXPECT_NEAR(cg.rel_l2_k, std::sqrt(num / den), 1e-6);
}

}  // namespace
}  // namespace cachegen
