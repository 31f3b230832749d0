// kivi: KIVI-style asymmetric low-bit quantization (Liu et al., ICML 2024). Keys are quantized
// per channel over groups of `group` tokens, values per token over groups of `group` channels;
// each group stores a 16-bit minimum and step (input dtype). The last tokens that do not fill a
// key group, and at least `residual` tokens, stay raw. q = clamp(round((x - min) / step)),
// x_hat = q * step + min.
#include <algorithm>
#include <vector>

#include "cachegen/codec/bitpack.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/core/codec.h"
#include "cachegen/core/parallel.h"
#include "codec_common.h"

namespace cachegen {

namespace {
constexpr uint32_t kMins = section_tag("MINS");
constexpr uint32_t kSteps = section_tag("STEP");
constexpr uint32_t kPacked = section_tag("PACK");
constexpr uint32_t kResidual = section_tag("RESI");

class KiviCodec : public Codec {
 public:
  KiviCodec(const Options& options, const CodecContext& context)
      : bits_(static_cast<int>(options.text("bits")[0] - '0')),
        group_(options.integer("group")),
        residual_(options.integer("residual")),
        threads_(context.threads) {}

  std::string name() const override { return "kivi"; }
  std::string params() const override {
    return str("bits=", bits_, ";group=", group_, ";residual=", residual_);
  }

  // Tokens [0, quantized) are quantized; the rest stay raw.
  int64_t quantized_tokens(int64_t tokens) const {
    return std::max<int64_t>(0, tokens - residual_) / group_ * group_;
  }

  // Quantization groups of one plane: keys [token group][channel], values [token][channel group].
  struct Layout {
    int64_t key_groups;    // per key plane: (quantized tokens / group) x channels
    int64_t value_groups;  // per value plane: quantized tokens x channel groups
    int64_t channel_groups;
    int64_t total(int64_t layers) const { return layers * (key_groups + value_groups); }
    int64_t first_group(int64_t plane) const {  // plane = layer * 2 + kind
      return plane / 2 * (key_groups + value_groups) + (plane % 2 == kKey ? 0 : key_groups);
    }
  };
  Layout layout(const KVShape& s) const {
    int64_t q = quantized_tokens(s.tokens), c = s.channels();
    int64_t channel_groups = (c + group_ - 1) / group_;
    return {q / group_ * c, q * channel_groups, channel_groups};
  }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats*) const override {
    kv.check_finite("kivi encode");
    const KVShape& s = kv.shape();
    const int64_t c = s.channels(), q_tokens = quantized_tokens(s.tokens);
    const Layout lay = layout(s);
    const int top = (1 << bits_) - 1;
    std::vector<float> mins(static_cast<size_t>(lay.total(s.layers)));
    std::vector<float> steps(mins.size());
    std::vector<uint8_t> symbols(static_cast<size_t>(s.layers * 2 * q_tokens * c));
    const DType dtype = kv.dtype();
    parallel_for(s.layers * 2, threads_, [&](int64_t plane) {
      const int64_t layer = plane / 2;
      const int kind = static_cast<int>(plane % 2);
      std::vector<float> x(static_cast<size_t>(q_tokens * c));
      for (int64_t t = 0; t < q_tokens; ++t)
        kv.load_row(layer, kind, t, x.data() + t * c);
      uint8_t* q = symbols.data() + plane * q_tokens * c;
      int64_t g = lay.first_group(plane);
      // Visits each group as (first element, count, stride) over the plane's [T, C] values.
      auto quantize_group = [&](int64_t first, int64_t count, int64_t stride) {
        float lo = x[static_cast<size_t>(first)], hi = lo;
        for (int64_t i = 0; i < count; ++i) {
          float v = x[static_cast<size_t>(first + i * stride)];
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        float step = round_to_dtype((hi - lo) / static_cast<float>(top), dtype);
        float min = lo;  // an input value: exact in dtype
        mins[static_cast<size_t>(g)] = min;
        steps[static_cast<size_t>(g)] = step;
        ++g;
        for (int64_t i = 0; i < count; ++i) {
          int64_t at = first + i * stride;
          float level = step > 0 ? round_half_even((x[static_cast<size_t>(at)] - min) / step) : 0;
          q[at] = static_cast<uint8_t>(std::min(std::max(level, 0.0f), static_cast<float>(top)));
        }
      };
      if (kind == kKey) {
        for (int64_t t0 = 0; t0 < q_tokens; t0 += group_) {
          for (int64_t ch = 0; ch < c; ++ch)
            quantize_group(t0 * c + ch, group_, c);
        }
      } else {
        for (int64_t t = 0; t < q_tokens; ++t) {
          for (int64_t ch = 0; ch < c; ch += group_) {
            quantize_group(t * c + ch, std::min(group_, c - ch), 1);
          }
        }
      }
    });
    std::vector<uint8_t> packed;
    pack_bits(symbols.data(), static_cast<int64_t>(symbols.size()), bits_, packed);
    KVCache residual = kv.slice_tokens(q_tokens, s.tokens - q_tokens);
    ContainerWriter writer(make_header(*this, params(), kv, position));
    writer.add_section(kMins, encode_values(mins, dtype));
    writer.add_section(kSteps, encode_values(steps, dtype));
    writer.add_section(kPacked, std::move(packed));
    writer.add_section(
        kResidual, std::vector<uint8_t>(residual.data(), residual.data() + residual.byte_size()));
    return writer.finish();
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    const ContainerHeader& h = view.header();
    const KVShape& s = h.shape;
    const int64_t c = s.channels(), q_tokens = quantized_tokens(s.tokens);
    const Layout lay = layout(s);
    const int64_t group_count = lay.total(s.layers);
    std::vector<float> mins = decode_values(view, kMins, group_count, h.dtype);
    std::vector<float> steps = decode_values(view, kSteps, group_count, h.dtype);
    const int64_t symbol_count = s.layers * 2 * q_tokens * c;
    if (view.section_size(kPacked) != static_cast<uint64_t>(packed_size(symbol_count, bits_))) {
      fail("container at byte offset ", file_offset, ": section 'PACK' has the wrong size");
    }
    KVShape residual_shape = s;
    residual_shape.tokens = s.tokens - q_tokens;
    KVCache residual(residual_shape, h.dtype);
    if (view.section_size(kResidual) != residual.byte_size()) {
      fail("container at byte offset ", file_offset, ": section 'RESI' has the wrong size");
    }
    std::memcpy(residual.data(), view.section_data(kResidual), residual.byte_size());
    std::vector<uint8_t> symbols(static_cast<size_t>(symbol_count));
    unpack_bits(view.section_data(kPacked), symbol_count, bits_, symbols.data());
    KVShape quantized_shape = s;
    quantized_shape.tokens = q_tokens;
    KVCache quantized(quantized_shape, h.dtype);
    parallel_for(s.layers * 2, threads_, [&](int64_t plane) {
      const int kind = static_cast<int>(plane % 2);
      const uint8_t* q = symbols.data() + plane * q_tokens * c;
      const int64_t base = lay.first_group(plane);
      std::vector<float> x(static_cast<size_t>(c));
      for (int64_t t = 0; t < q_tokens; ++t) {
        for (int64_t ch = 0; ch < c; ++ch) {
          int64_t g = kind == kKey ? base + (t / group_) * c + ch
                                   : base + t * lay.channel_groups + ch / group_;
          x[static_cast<size_t>(ch)] =
              static_cast<float>(q[t * c + ch]) * steps[static_cast<size_t>(g)] +
              mins[static_cast<size_t>(g)];
        }
        quantized.store_row(plane / 2, kind, t, x.data());
      }
    });
    if (q_tokens == 0)
      return residual;
    if (residual_shape.tokens == 0)
      return quantized;
    return KVCache::concat_tokens({quantized, residual});
  }

 private:
  int bits_;
  int64_t group_;
  int64_t residual_;
  int threads_;
};
}  // namespace

CACHEGEN_REGISTER(codec_registry(),
                  {"kivi",
                   "KIVI asymmetric 2/4-bit, keys per channel, values per token",
                   {choice_option("bits", "2", {"2", "4"}, "bits per value"),
                    integer_option("group", 32, 1, 1 << 16,
                                   "tokens per key group and channels per value group"),
                    integer_option("residual", 32, 0, 1 << 24, "last tokens kept raw")}},
                  [](const Options& options, const CodecContext& context) {
                    return std::make_unique<KiviCodec>(options, context);
                  });

}  // namespace cachegen
