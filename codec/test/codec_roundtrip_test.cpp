// Every codec through the container and back: shapes and edge cases, error bounds, agreement
// with a slow reference quantizer, and rejection of bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "cachegen/codec/level_table.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "test_util.h"

namespace cachegen {
namespace {

std::unique_ptr<Codec> codec(const std::string& name, const std::string& params = "",
                             int threads = 2) {
  CodecContext context;
  context.threads = threads;
  return make_codec(name, Options::parse(params, "test"), context);
}

KVCache round_trip(const Codec& c, const KVCache& kv, int64_t chunk = 0) {
  CodecContext context;
  return decode_file(encode_chunks(c, kv, chunk, nullptr), "test", context);
}

// The reference's quantizer written the slow, obvious way (cachegen.md §1.2).
KVCache reference_cachegen(const KVCache& kv, int level) {
  const KVShape& s = kv.shape();
  LayerBins bins = level_bins(level, static_cast<int>(s.layers));
  KVCache out(s, kv.dtype());
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      int b = kind == kKey ? bins.key[static_cast<size_t>(l)] : bins.value[static_cast<size_t>(l)];
      float m = static_cast<float>(b / 2 - 1);
      for (int64_t t = 0; t < s.tokens; ++t) {
        std::vector<float> x(static_cast<size_t>(s.channels()));
        kv.load_row(l, kind, t, x.data());
        float scale = 0;
        for (float v : x)
          scale = std::max(scale, std::fabs(v));
        for (float& v : x) {
          float q = scale == 0 ? m : std::nearbyint(v * m / scale) + m;
          v = (q - m) / m * scale;
        }
        out.store_row(l, kind, t, x.data());
      }
    }
  }
  return out;
}

TEST(Codecs, IdentityIsLossless) {
  for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
    KVCache kv = small_kv(2, 33, 2, 8, dtype);
    EXPECT_TRUE(same_bytes(round_trip(*codec("identity"), kv, 10), kv));
  }
}

TEST(Codecs, CachegenMatchesTheSlowReferenceBitExactly) {
  for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
    KVCache kv = small_kv(4, 50, 2, 16, dtype);
    for (int level = 1; level <= 3; ++level) {
      KVCache expected = reference_cachegen(kv, level);
      for (const char* coder : {"rans", "ac"}) {
        auto c = codec("cachegen", str("level=", level, ";coder=", coder));
        EXPECT_TRUE(same_bytes(round_trip(*c, kv), expected)) << level << coder;
      }
    }
  }
}

// decode_into's in-place paths (the fused rANS path, and the symbol arrays of delta=on and the
// arithmetic coder) against decode(), over dtypes and lane counts the vector kernel takes or
// declines.
TEST(Codecs, CachegenDecodeIntoEqualsDecode) {
  for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
    const KVCache kv = small_kv(3, 45, 4, 16, dtype);  // 64 channels
    for (const char* params : {"level=2", "level=3;lanes=16", "level=1;lanes=20;lane_channels=1",
                               "level=2;delta=on", "level=2;coder=ac"}) {
      auto c = codec("cachegen", params);
      const std::vector<uint8_t> bytes = c->encode(kv, ChunkPosition{}, nullptr);
      const KVCache expected = c->decode(bytes.data(), bytes.size(), 0);
      KVCache dst(KVShape{3, 60, 4, 16}, dtype);
      c->decode_into(bytes.data(), bytes.size(), 0, dst, 15);
      EXPECT_TRUE(same_bytes(dst.slice_tokens(15, 45), expected))
          << params << " " << dtype_name(dtype);
    }
  }
}

TEST(Codecs, CachegenEdgeCasesRoundTrip) {
  auto rans = codec("cachegen", "level=2");
  auto ac = codec("cachegen", "level=2;coder=ac");
  auto delta = codec("cachegen", "level=2;delta=on");
  std::vector<KVCache> cases = {small_kv(3, 1, 1, 8), small_kv(3, 1535, 2, 64),
                                small_kv(3, 1537, 2, 64), small_kv(2, 40, 3, 7)};
  // All-equal values (zero entropy) and an all-zero token vector (the reference divides by 0).
  KVCache constant(KVShape{2, 30, 1, 16}, DType::kF16);
  std::vector<float> ones(16, 0.5f), zeros(16, 0.0f);
  for (int64_t l = 0; l < 2; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t t = 0; t < 30; ++t)
        constant.store_row(l, kind, t, t == 7 ? zeros.data() : ones.data());
    }
  }
  cases.push_back(constant);
  for (const KVCache& kv : cases) {
    KVCache a = round_trip(*rans, kv, 1536);
    KVCache b = round_trip(*ac, kv, 1536);
    EXPECT_TRUE(same_bytes(a, b)) << kv.shape().to_string();  // lossless stage: same output
    EXPECT_TRUE(same_bytes(a, reference_cachegen(kv, 2))) << kv.shape().to_string();
    KVCache d = round_trip(*delta, kv, 1536);
    EXPECT_EQ(d.shape(), kv.shape());
  }
  KVCache back = round_trip(*rans, constant);
  EXPECT_EQ(back.at(1, kValue, 7, 3), 0.0f);
  EXPECT_EQ(back.at(1, kValue, 8, 3), 0.5f);
}

TEST(Codecs, LargestBinsAndLowPrecisionRoundTrip) {
  KVCache kv = small_kv(2, 300, 2, 16);
  auto c = codec("cachegen", "key_bins=256*2;value_bins=256*2;precision=10");
  KVCache back = round_trip(*c, kv);
  EXPECT_LT(relative_l2(kv, back, kKey), 0.01);
}

// 3 bins would leave no level but the middle one (M = B/2 - 1 = 0): dequantization divided by
// zero and wrote NaN (found by the GPU check). The smallest bin count is 4.
TEST(Codecs, FewerThanFourBinsAreRejected) {
  for (const char* params : {"key_bins=3*2", "value_bins=4,3", "delta=on;anchor_bins=3"}) {
    try {
      codec("cachegen", params);
      ADD_FAILURE() << params << " was accepted";
    } catch (const Error& e) {
      EXPECT_TRUE(std::string(e.what()).find("4") != std::string::npos) << e.what();
    }
  }
  KVCache kv = small_kv(2, 40, 2, 16);
  KVCache back = round_trip(*codec("cachegen", "key_bins=4*2;value_bins=4*2"), kv);
  EXPECT_NO_THROW(back.check_finite("4 bins"));
}

// Named error bound of the symmetric codecs: every element within half a quantization step of
// its token's scale, s / (2M), plus half an f16 ulp of output rounding.
void expect_within_half_step(const KVCache& kv, const KVCache& back, const std::string& what,
                             const std::function<int(int64_t, int)>& max_level) {
  const KVShape& s = kv.shape();
  std::vector<float> x(static_cast<size_t>(s.channels())), y(x.size());
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        kv.load_row(l, kind, t, x.data());
        back.load_row(l, kind, t, y.data());
        float scale = 0;
        for (float v : x)
          scale = std::max(scale, std::fabs(v));
        double bound = scale / (2.0 * max_level(l, kind)) * 1.0001;
        for (size_t c = 0; c < x.size(); ++c) {
          ASSERT_LE(std::fabs(x[c] - y[c]), bound + std::fabs(y[c]) * std::ldexp(1.0, -11))
              << what << " layer " << l << " kind " << kind << " token " << t;
        }
      }
    }
  }
}

TEST(Codecs, ErrorWithinHalfAQuantizationStep) {
  KVCache kv = small_kv(4, 200, 2, 32);
  for (int bits : {8, 4, 3, 2}) {
    for (const char* group : {"0", "32"}) {
      KVCache back = round_trip(*codec("quant", str("bits=", bits, ";group=", group)), kv, 64);
      expect_within_half_step(kv, back, str("quant bits=", bits),
                              [&](int64_t, int) { return (1 << (bits - 1)) - 1; });
    }
  }
  for (int level = 1; level <= 3; ++level) {
    LayerBins bins = level_bins(level, 4);
    KVCache back = round_trip(*codec("cachegen", str("level=", level)), kv, 64);
    expect_within_half_step(kv, back, str("cachegen level=", level), [&](int64_t l, int kind) {
      return (kind == kKey ? bins.key : bins.value)[static_cast<size_t>(l)] / 2 - 1;
    });
  }
}

TEST(Codecs, CoarserSettingsLoseMore) {
  KVCache kv = small_kv(4, 200, 2, 32);
  auto error = [&](const std::string& name, const std::string& params) {
    KVCache back = round_trip(*codec(name, params), kv, 64);
    return relative_l2(kv, back, kKey) + relative_l2(kv, back, kValue);
  };
  EXPECT_LT(error("cachegen", "level=3"), error("cachegen", "level=2"));
  EXPECT_LT(error("cachegen", "level=2"), error("cachegen", "level=1"));
  EXPECT_LT(error("kivi", "bits=4"), error("kivi", "bits=2"));
  EXPECT_LT(error("quant", "bits=8"), error("quant", "bits=4"));
  // Anchor/delta reconstructs within the delta quantizer's step of the 8-bit anchor.
  EXPECT_LT(error("cachegen", "level=2;delta=on"), 2 * error("cachegen", "level=1"));
}

TEST(Codecs, DeterministicAcrossThreadCounts) {
  KVCache kv = small_kv(4, 100, 2, 32);
  for (const char* params : {"level=2", "level=1;coder=ac", "level=2;delta=on"}) {
    auto one = codec("cachegen", params, 1), two = codec("cachegen", params, 2);
    EXPECT_EQ(encode_chunks(*one, kv, 40, nullptr), encode_chunks(*two, kv, 40, nullptr));
  }
}

TEST(Codecs, ProfileTablesDecodeLikeChunkTables) {
  KVCache train = small_kv(3, 400, 2, 16, DType::kF16, 11);
  KVCache test = small_kv(3, 300, 2, 16, DType::kF16, 12);
  Options options = Options::parse("level=2", "test");
  CodecContext context;
  ProbabilityProfile profile = build_cachegen_profile(options, context, {train});
  std::string path = ::testing::TempDir() + "/profile.cgp";
  write_file_atomic(path, profile.serialize());
  auto with_profile = codec("cachegen", "level=2;profile=" + path);
  std::vector<uint8_t> bytes = encode_chunks(*with_profile, test, 100, nullptr);
  context.profile_paths = {path};
  KVCache back = decode_file(bytes, "test", context);
  EXPECT_TRUE(same_bytes(back, round_trip(*codec("cachegen", "level=2"), test)));
  // Without the profile the decoder says which one it needs.
  EXPECT_THROW(decode_file(bytes, "test", CodecContext{}), Error);
  std::remove(path.c_str());
}

TEST(Codecs, StatsReportCodingEfficiency) {
  KVCache kv = small_kv(4, 1536, 2, 64);
  EncodeStats stats;
  encode_chunks(*codec("cachegen", "level=2"), kv, 1536, &stats);
  EXPECT_GT(stats.model_bits, 0);
  EXPECT_LT(stats.payload_bits / stats.model_bits, 1.01);
  EXPECT_GE(stats.payload_bits / stats.model_bits, 0.99);
  EXPECT_EQ(stats.symbols, kv.shape().elements());
}

}  // namespace
}  // namespace cachegen
