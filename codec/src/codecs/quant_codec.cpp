// quant: the paper's "default quantization" baseline. Symmetric absmax quantization with one
// scale per (layer, kind, token) over all channels (group=0), or per block of `group` channels
// (group=32 gives llama.cpp's q8_0 / q4_0 layout: 8.5 / 4.5 bits per element with 16-bit scales).
// Scales are stored in the input dtype (an absmax of input values is exact there); symbols are
// bit-packed at `bits` bits.
#include <vector>

#include "cachegen/codec/bitpack.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/core/codec.h"
#include "cachegen/core/parallel.h"
#include "codec_common.h"

namespace cachegen {

namespace {
constexpr uint32_t kScales = section_tag("SCAL");
constexpr uint32_t kPacked = section_tag("PACK");

class QuantCodec : public Codec {
 public:
  QuantCodec(const Options& options, const CodecContext& context)
      : bits_(static_cast<int>(options.integer("bits"))),
        group_(options.integer("group")),
        threads_(context.threads) {}

  std::string name() const override { return "quant"; }
  std::string params() const override { return str("bits=", bits_, ";group=", group_); }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats*) const override {
    kv.check_finite("quant encode");
    const KVShape& s = kv.shape();
    const int64_t c = s.channels(), rows = s.layers * 2 * s.tokens, per_row = groups_per_row(c);
    const int max_level = (1 << (bits_ - 1)) - 1;
    std::vector<float> scales(static_cast<size_t>(rows * per_row));
    std::vector<uint8_t> symbols(static_cast<size_t>(rows * c));
    parallel_for(s.layers * 2, threads_, [&](int64_t plane) {
      std::vector<float> x(static_cast<size_t>(c));
      for (int64_t t = 0; t < s.tokens; ++t) {
        int64_t row = plane * s.tokens + t;
        kv.load_row(plane / 2, static_cast<int>(plane % 2), t, x.data());
        for (int64_t g = 0; g < per_row; ++g) {
          int64_t begin = g * group_width(c), n = std::min(group_width(c), c - begin);
          float scale = absmax(x.data() + begin, n);
          scales[static_cast<size_t>(row * per_row + g)] = scale;
          quantize_symmetric(x.data() + begin, n, scale, max_level,
                             symbols.data() + row * c + begin);
        }
      }
    });
    std::vector<uint8_t> packed;
    pack_bits(symbols.data(), static_cast<int64_t>(symbols.size()), bits_, packed);
    ContainerWriter writer(make_header(*this, params(), kv, position));
    writer.add_section(kScales, encode_values(scales, kv.dtype()));
    writer.add_section(kPacked, std::move(packed));
    return writer.finish();
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    const ContainerHeader& h = view.header();
    const KVShape& s = h.shape;
    const int64_t c = s.channels(), rows = s.layers * 2 * s.tokens, per_row = groups_per_row(c);
    const int max_level = (1 << (bits_ - 1)) - 1;
    std::vector<float> scales = decode_values(view, kScales, rows * per_row, h.dtype);
    if (view.section_size(kPacked) != static_cast<uint64_t>(packed_size(rows * c, bits_))) {
      fail("container at byte offset ", file_offset, ": section 'PACK' holds ",
           view.section_size(kPacked), " bytes, expected ", packed_size(rows * c, bits_));
    }
    std::vector<uint8_t> symbols(static_cast<size_t>(rows * c));
    unpack_bits(view.section_data(kPacked), rows * c, bits_, symbols.data());
    KVCache kv(s, h.dtype);
    parallel_for(s.layers * 2, threads_, [&](int64_t plane) {
      std::vector<float> x(static_cast<size_t>(c));
      for (int64_t t = 0; t < s.tokens; ++t) {
        int64_t row = plane * s.tokens + t;
        for (int64_t i = 0; i < c; ++i) {
          float scale = scales[static_cast<size_t>(row * per_row + i / group_width(c))];
          x[static_cast<size_t>(i)] =
              dequantize_symmetric(symbols[static_cast<size_t>(row * c + i)], max_level, scale);
        }
        kv.store_row(plane / 2, static_cast<int>(plane % 2), t, x.data());
      }
    });
    return kv;
  }

 private:
  int64_t group_width(int64_t channels) const { return group_ == 0 ? channels : group_; }
  int64_t groups_per_row(int64_t channels) const {
    return channels == 0 ? 0 : (channels + group_width(channels) - 1) / group_width(channels);
  }
  int bits_;
  int64_t group_;
  int threads_;
};
}  // namespace

CACHEGEN_REGISTER(
    codec_registry(),
    {"quant",
     "uniform absmax quantization, per token or per block",
     {integer_option("bits", 8, 2, 8, "bits per value"),
      integer_option("group", 0, 0, 1 << 20,
                     "channels per scale; 0: one scale per (layer, kind, token), the paper's "
                     "baseline; 32: llama.cpp's q8_0/q4_0 blocks")}},
    [](const Options& options, const CodecContext& context) {
      return std::make_unique<QuantCodec>(options, context);
    });

}  // namespace cachegen
