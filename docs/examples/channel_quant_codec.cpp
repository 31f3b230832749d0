// Example codec (docs/extending.md): `channel_quant`, asymmetric uniform quantization with one
// minimum and step per (layer, kind, channel) over the chunk's tokens, one byte per value.
// Keys vary far more across channels than across tokens (CacheGen §4, KIVI), so a per-channel
// range fits them better than quant's per-token scale.
//
// As a real plug-in this file goes into codec/src/codecs/; the build then compiles it into the
// codec module and the codec conformance test runs it. Here it is compiled into that test only.
#include <algorithm>
#include <cmath>

#include "cachegen/core/codec.h"
#include "codec_common.h"

namespace cachegen {

namespace {
constexpr uint32_t kMins = section_tag("MINS");    // f32 [layers, 2, channels]
constexpr uint32_t kSteps = section_tag("STEP");   // f32 [layers, 2, channels]
constexpr uint32_t kValues = section_tag("VALS");  // u8 [layers, 2, tokens, channels]

class ChannelQuantCodec : public Codec {
 public:
  explicit ChannelQuantCodec(const Options& options)
      : bits_(static_cast<int>(options.integer("bits"))) {}

  std::string name() const override { return "channel_quant"; }
  std::string params() const override { return str("bits=", bits_); }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats*) const override {
    kv.check_finite("channel_quant encode");
    const KVShape& s = kv.shape();
    const int64_t c = s.channels(), planes = s.layers * 2;
    const float top = static_cast<float>((1 << bits_) - 1);
    std::vector<float> mins(static_cast<size_t>(planes * c), INFINITY);
    std::vector<float> steps(static_cast<size_t>(planes * c), -INFINITY);  // maxima first
    std::vector<float> row(static_cast<size_t>(c));
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        kv.load_row(p / 2, static_cast<int>(p % 2), t, row.data());
        for (int64_t i = 0; i < c; ++i) {
          const auto at = static_cast<size_t>(p * c + i);
          mins[at] = std::min(mins[at], row[static_cast<size_t>(i)]);
          steps[at] = std::max(steps[at], row[static_cast<size_t>(i)]);
        }
      }
    }
    for (size_t i = 0; i < mins.size(); ++i)
      steps[i] = s.tokens == 0 ? 0 : (steps[i] - mins[i]) / top;
    std::vector<uint8_t> values(static_cast<size_t>(planes * s.tokens * c));
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        kv.load_row(p / 2, static_cast<int>(p % 2), t, row.data());
        for (int64_t i = 0; i < c; ++i) {
          const auto at = static_cast<size_t>(p * c + i);
          const float q = steps[at] > 0
                              ? std::nearbyint((row[static_cast<size_t>(i)] - mins[at]) / steps[at])
                              : 0;
          values[static_cast<size_t>((p * s.tokens + t) * c + i)] =
              static_cast<uint8_t>(std::clamp(q, 0.0f, top));
        }
      }
    }
    ContainerWriter writer(make_header(*this, params(), kv, position));
    writer.add_section(kMins, encode_values(mins, DType::kF32));
    writer.add_section(kSteps, encode_values(steps, DType::kF32));
    writer.add_section(kValues, std::move(values));
    return writer.finish();
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    const KVShape& s = view.header().shape;
    const int64_t c = s.channels(), planes = s.layers * 2;
    const std::vector<float> mins = decode_values(view, kMins, planes * c, DType::kF32);
    const std::vector<float> steps = decode_values(view, kSteps, planes * c, DType::kF32);
    if (view.section_size(kValues) != static_cast<uint64_t>(planes * s.tokens * c)) {
      fail("container at byte offset ", file_offset, ": section 'VALS' holds ",
           view.section_size(kValues), " bytes, expected ", planes * s.tokens * c);
    }
    const uint8_t* values = view.section_data(kValues);
    KVCache kv(s, view.header().dtype);
    std::vector<float> row(static_cast<size_t>(c));
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t t = 0; t < s.tokens; ++t) {
        for (int64_t i = 0; i < c; ++i) {
          const auto at = static_cast<size_t>(p * c + i);
          row[static_cast<size_t>(i)] =
              mins[at] + steps[at] * values[static_cast<size_t>((p * s.tokens + t) * c + i)];
        }
        kv.store_row(p / 2, static_cast<int>(p % 2), t, row.data());
      }
    }
    return kv;
  }

 private:
  int bits_;
};
}  // namespace

CACHEGEN_REGISTER(codec_registry(),
                  {"channel_quant",
                   "example: asymmetric quantization, one range per (layer, kind, channel)",
                   {integer_option("bits", 8, 1, 8, "bits per value (stored one per byte)")}},
                  [](const Options& options, const CodecContext&) {
                    return std::make_unique<ChannelQuantCodec>(options);
                  });

}  // namespace cachegen
