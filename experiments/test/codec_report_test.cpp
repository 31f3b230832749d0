#include "cachegen/experiments/codec_report.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(cg.elements, kv.shape().elements());
}

}  // namespace
}  // namespace cachegen
