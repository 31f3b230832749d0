// Every codec through the container and back: shapes and edge cases, error bounds, agreement
// with a slow reference quantizer, and rejection of bad input.
#include <gtest/gtest.h>

#include <algorithm>
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

// The paper's anchor/delta coding, written out from its description
// (../shared/reference/cachegen.md §1) and the container's rounding rules: every `group`-th
// token is an anchor, quantized on its own at `anchor_bins`; the tokens after it code their
// difference from the anchor as the decoder reconstructs it (rounded to the KV's dtype), with
// the difference's absmax (also rounded to the dtype) as the scale and the layer's bins.
KVCache reference_cachegen_delta(const KVCache& kv, int level, int group, int anchor_bins) {
  const KVShape& s = kv.shape();
  const DType dtype = kv.dtype();
  const float dtype_max = dtype == DType::kF16 ? 65504.0f : std::numeric_limits<float>::max();
  LayerBins bins = level_bins(level, static_cast<int>(s.layers));
  KVCache out(s, dtype);
  const auto quantize = [](float v, float m, float scale) {
    if (scale == 0)
      return m;
    return std::min(std::max(std::nearbyint(v * m / scale) + m, 0.0f), 2 * m);
  };
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      const int b =
          kind == kKey ? bins.key[static_cast<size_t>(l)] : bins.value[static_cast<size_t>(l)];
      const float m = static_cast<float>(b / 2 - 1), am = static_cast<float>(anchor_bins / 2 - 1);
      std::vector<float> x(static_cast<size_t>(s.channels())), anchor(x.size()), y(x.size());
      for (int64_t t = 0; t < s.tokens; ++t) {
        kv.load_row(l, kind, t, x.data());
        if (t % group == 0) {
          float scale = 0;
          for (float v : x)
            scale = std::max(scale, std::fabs(v));
          for (size_t i = 0; i < x.size(); ++i) {
            y[i] = (quantize(x[i], am, scale) - am) / am * scale;
            anchor[i] = round_to_dtype(y[i], dtype);
          }
        } else {
          float scale = 0;
          for (size_t i = 0; i < x.size(); ++i)
            scale = std::max(scale, std::fabs(x[i] - anchor[i]));
          scale = std::min(round_to_dtype(scale, dtype), dtype_max);
          for (size_t i = 0; i < x.size(); ++i)
            y[i] = anchor[i] + (quantize(x[i] - anchor[i], m, scale) - m) / m * scale;
        }
        out.store_row(l, kind, t, y.data());
      }
    }
  }
  return out;
}

// The same, chunk by chunk: anchors restart at each chunk's first token.
KVCache reference_cachegen_delta_chunked(const KVCache& kv, int64_t chunk_tokens) {
  std::vector<KVCache> parts;
  for (int64_t begin = 0; begin < kv.shape().tokens; begin += chunk_tokens) {
    const int64_t count = std::min(chunk_tokens, kv.shape().tokens - begin);
    parts.push_back(reference_cachegen_delta(kv.slice_tokens(begin, count), 2, 10, 256));
  }
  return KVCache::concat_tokens(parts);
}

TEST(Codecs, CachegenDeltaMatchesTheWrittenOutReference) {
  for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
    for (int64_t tokens : {int64_t{1}, int64_t{9}, int64_t{37}}) {
      const KVCache kv = small_kv(3, tokens, 2, 16, dtype);
      for (int group : {4, 10}) {
        auto c = codec("cachegen", str("level=2;delta=on;delta_group=", group));
        EXPECT_TRUE(same_bytes(round_trip(*c, kv), reference_cachegen_delta(kv, 2, group, 256)))
            << dtype_name(dtype) << " tokens " << tokens << " group " << group;
      }
    }
  }
}

// A per-layer list from (bins, layers) runs: {{32, 10}, {16, 22}} -> 32 x 10, then 16 x 22.
std::vector<int> runs(std::initializer_list<std::pair<int, int>> parts) {
  std::vector<int> out;
  for (auto [bins, count] : parts)
    out.insert(out.end(), static_cast<size_t>(count), bins);
  return out;
}

// The reference's bin tables for its 32-layer models, written out from
// ../shared/reference/cachegen.md (lineage 3, `cachegen_basics.py`, QUANT_LEVEL 1-3): an
// independent check of level_table.cpp, not derived from it.
TEST(LevelTable, MatchesTheReferenceTablesFor32Layers) {
  const LayerBins level1 = level_bins(1, 32), level2 = level_bins(2, 32),
                  level3 = level_bins(3, 32);
  EXPECT_EQ(level1.key, runs({{16, 10}, {16, 10}, {12, 12}}));
  EXPECT_EQ(level1.value, runs({{16, 2}, {12, 30}}));
  EXPECT_EQ(level2.key, runs({{32, 10}, {16, 10}, {16, 12}}));
  EXPECT_EQ(level2.value, runs({{32, 2}, {16, 30}}));
  EXPECT_EQ(level3.key, runs({{32, 32}}));
  EXPECT_EQ(level3.value, runs({{32, 32}}));
}

// The reference's 80-layer table (lineage 3, `family_70b`, LongAlpaca-70B), written out from
// ../shared/reference/cachegen.md §1.3, at level 2; levels 1 and 3 follow the depth rule, and
// every layer keeps level 1 <= level 2 <= level 3.
TEST(LevelTable, UsesTheReferenceTableFor80LayersAtLevel2) {
  const LayerBins level1 = level_bins(1, 80), level2 = level_bins(2, 80),
                  level3 = level_bins(3, 80);
  EXPECT_EQ(level2.key, runs({{32, 20}, {32, 20}, {16, 40}}));
  EXPECT_EQ(level2.value, runs({{32, 20}, {16, 60}}));
  EXPECT_EQ(level1.key, runs({{16, 25}, {16, 25}, {12, 30}}));  // round(10*80/32) = 25
  EXPECT_EQ(level1.value, runs({{16, 5}, {12, 75}}));
  EXPECT_EQ(level3.key, runs({{32, 80}}));
  for (int l = 0; l < 80; ++l) {
    EXPECT_LE(level1.key[l], level2.key[l]);
    EXPECT_LE(level2.key[l], level3.key[l]);
    EXPECT_LE(level1.value[l], level2.value[l]);
    EXPECT_LE(level2.value[l], level3.value[l]);
  }
  // Other depths: the rule (40 layers: keys change at 13 and 25, values at 3).
  const LayerBins forty = level_bins(2, 40);
  EXPECT_EQ(forty.key, runs({{32, 13}, {16, 12}, {16, 15}}));
  EXPECT_EQ(forty.value, runs({{32, 3}, {16, 37}}));
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
    EXPECT_TRUE(same_bytes(d, reference_cachegen_delta_chunked(kv, 1536)))
        << kv.shape().to_string();
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
