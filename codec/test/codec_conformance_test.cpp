// Conformance of every registered codec (and the docs/examples codec): created with its
// sample options, it round-trips through the container (rebuilt from the container's params),
// rejects every truncation and non-finite input, is deterministic across thread counts, and
// decodes in place into a larger cache (decode_into) exactly as decode() does.
// A new codec is covered by registering it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "test_util.h"

namespace cachegen {
namespace {

class CodecConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Codec> make(int threads) const {
    CodecContext context;
    context.threads = threads;
    const PluginInfo& info = codec_registry().info(GetParam());
    return codec_registry().create(GetParam(), Options::parse(info.sample_options, "test"),
                                   context);
  }
  // [3 layers, 40 tokens, 2 heads, 16 dims] in f16: three chunks of 16, 16 and 8 tokens.
  const KVCache kv_ = small_kv(3, 40, 2, 16);
};

TEST_P(CodecConformance, RoundTripKeepsShapeAndDtypeAndBoundsTheError) {
  std::vector<uint8_t> bytes = encode_chunks(*make(2), kv_, 16, nullptr);
  KVCache back = decode_file(bytes, "conformance", CodecContext{});
  ASSERT_EQ(back.shape(), kv_.shape());
  EXPECT_EQ(back.dtype(), kv_.dtype());
  back.check_finite("decoded");
  for (int kind : {kKey, kValue})
    EXPECT_LT(relative_l2(kv_, back, kind), 0.5) << "kind " << kind;
}

TEST_P(CodecConformance, ParamsRebuildAnIdenticalCodec) {
  std::unique_ptr<Codec> codec = make(1);
  EXPECT_EQ(codec->name(), GetParam());
  std::unique_ptr<Codec> again =
      make_codec(GetParam(), Options::parse(codec->params(), "params"), CodecContext{});
  EXPECT_EQ(again->params(), codec->params());
  EXPECT_EQ(again->encode(kv_, ChunkPosition{}, nullptr),
            codec->encode(kv_, ChunkPosition{}, nullptr));
}

TEST_P(CodecConformance, EveryTruncationIsRejected) {
  std::vector<uint8_t> bytes = encode_chunks(*make(1), small_kv(2, 24, 1, 8), 10, nullptr);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    EXPECT_THROW(decode_file(part, "x", CodecContext{}), Error) << "cut at " << cut;
  }
}

TEST_P(CodecConformance, DeterministicAcrossThreadCounts) {
  std::vector<uint8_t> one = encode_chunks(*make(1), kv_, 16, nullptr);
  EXPECT_EQ(encode_chunks(*make(3), kv_, 16, nullptr), one);
  CodecContext three;
  three.threads = 3;
  EXPECT_TRUE(same_bytes(decode_file(one, "x", CodecContext{}), decode_file(one, "x", three)));
}

TEST_P(CodecConformance, NonFiniteInputIsAnError) {
  KVCache kv = small_kv(2, 10, 1, 8, DType::kF32);
  std::vector<float> row(8, std::numeric_limits<float>::quiet_NaN());
  kv.store_row(1, kKey, 4, row.data());
  EXPECT_THROW(make(1)->encode(kv, ChunkPosition{}, nullptr), Error);
}

TEST_P(CodecConformance, DecodeIntoWritesTheChunkInPlace) {
  std::unique_ptr<Codec> codec = make(2);
  const KVCache chunk = kv_.slice_tokens(16, 16);
  const std::vector<uint8_t> bytes = codec->encode(chunk, ChunkPosition{16, 40}, nullptr);
  const KVCache decoded = codec->decode(bytes.data(), bytes.size(), 0);
  for (DType dtype : {kv_.dtype(), DType::kF32}) {
    // A context-sized destination, poisoned: only tokens [16, 32) may change.
    KVCache dst(kv_.shape(), dtype);
    std::vector<float> poison(static_cast<size_t>(kv_.shape().channels()), -7.0f);
    for (int64_t l = 0; l < kv_.shape().layers; ++l)
      for (int kind : {kKey, kValue})
        for (int64_t t = 0; t < kv_.shape().tokens; ++t)
          dst.store_row(l, kind, t, poison.data());
    const KVCache before = dst;
    codec->decode_into(bytes.data(), bytes.size(), 0, dst, 16);
    EXPECT_TRUE(same_bytes(dst.slice_tokens(16, 16), decoded.converted(dtype)))
        << dtype_name(dtype);
    EXPECT_TRUE(same_bytes(dst.slice_tokens(0, 16), before.slice_tokens(0, 16)));
    EXPECT_TRUE(same_bytes(dst.slice_tokens(32, 8), before.slice_tokens(32, 8)));
  }
  KVCache small(kv_.shape(), kv_.dtype());
  EXPECT_THROW(codec->decode_into(bytes.data(), bytes.size(), 0, small, 30),
               Error);  // past the end
  KVCache other_layers(KVShape{2, 40, 2, 16}, kv_.dtype());
  EXPECT_THROW(codec->decode_into(bytes.data(), bytes.size(), 0, other_layers, 0), Error);
}

INSTANTIATE_TEST_SUITE_P(Registered, CodecConformance,
                         ::testing::ValuesIn(codec_registry().names()),
                         [](const auto& test) { return test.param; });

TEST(CodecRegistry, UnknownNamesAndOptionsFailWithSuggestions) {
  try {
    make_codec("cachgen", Options(), CodecContext{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'cachegen'"), std::string::npos) << e.what();
  }
  try {
    make_codec("quant", Options::parse("bitz=4", "test"), CodecContext{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("codec 'quant': unknown option 'bitz' (did you mean "
                                         "'bits'?); valid: bits, group"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_codec("quant", Options::parse("bits=9", "test"), CodecContext{}), Error);
}

}  // namespace
}  // namespace cachegen
