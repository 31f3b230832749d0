// kvtc: a transform codec for KV caches, after KVTC (Staniszewski and Łańcucki, arXiv
// 2511.01815): decorrelate, allocate bits, entropy-code.
//
// Encode, per chunk of T tokens at context positions [p0, p0 + T):
//  1. Tokens at positions < sinks (attention sinks) or within the context's last `window`
//     tokens are stored exactly ('EXCT'; f16 for an f32 cache); the others ("middle" tokens, a
//     contiguous range) are coded.
//  2. Per domain (kvtc_calibration.h: a kind and a group of layers), the middle tokens' features
//     x [d] (keys un-rotated) become coefficients c = B (x - mean), B the calibration's basis
//     (identity without a calibration).
//  3. Per component j (a column of c over the middle tokens): a centre (the chunk mean) and a
//     unit (the RMS around it), both f16. Choice 0 drops it (decoded as the centre); choice
//     s = 1..14 quantizes (c - centre) uniformly with step unit * 2^((5 - s) / 2) to integers
//     clamped to [-127, 127]. For each choice the encoder measures the distortion (squared
//     error, clipping included) and the rate under the entropy coder (the code length of the
//     symbols under the best of kvtc_tables.h's fixed tables).
//  4. One rate allocation over every component of every domain (bit_allocation.h), minimising
//     the sum of each domain's squared error relative to its energy (weighting=relative; mse:
//     the plain sum, which starves domains of small values such as shallow layers' values), under
//     the budget: bits x the middle tokens' elements, less the side information ('META', stream
//     lengths and rANS states, the header). So `bits` is the size of the coded tokens with all
//     metadata; exact tokens come on top (results report the container's real bits/element).
//  5. Per domain, the coded components' symbols [middle tokens, coded components, padded to a
//     multiple of 64 with zero symbols] are rANS-coded (rans_coder.h, 32 lanes) in streams of 64
//     columns ('PAYL', lengths in 'LENS').
// Decode inverts it: symbols -> coefficients -> x = mean + B^T c (kvtc_synthesis.h: over the
// coded components' non-zero coefficients only) -> keys re-rotated. The layout (fixed tables,
// 32-lane streams, one matrix product per domain) is what a CUDA decoder would run as is.
//
// Sections: 'EXCT' exact rows [layer, kind, exact token, channel]; 'META'
// per component (domains in order, components in basis order): centre f16 [N], unit f16 [N],
// choice u8 [N], table u8 [N]; 'LENS' u32 per stream; 'PAYL' the streams back to back; 'ESCN'
// u32 escapes per domain; 'ESCV' the escaped coefficients (int8), domain by domain, row-major.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "cachegen/codec/bit_allocation.h"
#include "cachegen/codec/kvtc_calibration.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/core/dtype.h"
#include "cachegen/core/float_formats.h"
#include "cachegen/core/parallel.h"
#include "codec_common.h"
#include "kvtc_synthesis.h"
#include "kvtc_tables.h"

namespace cachegen {

namespace {
constexpr uint32_t kExact = section_tag("EXCT");
constexpr uint32_t kMeta = section_tag("META");
constexpr uint32_t kLengths = section_tag("LENS");
constexpr uint32_t kPayload = section_tag("PAYL");
constexpr uint32_t kEscapeCounts = section_tag("ESCN");
constexpr uint32_t kEscapes = section_tag("ESCV");
constexpr int kSteps = 14;              // choices 1..kSteps
constexpr int kLanes = 32;              // rANS lanes per stream
constexpr int64_t kStreamColumns = 64;  // 2 symbols per lane and token
constexpr int64_t kDecodeBatch = 4;     // streams the vector rANS kernel interleaves
constexpr int64_t kMetaBytes = 6;       // per component
constexpr int kSections = 6;

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapF = Eigen::Map<MatrixF>;
using ConstMapF = Eigen::Map<const MatrixF>;

// Step of choice s in units of the component's unit: 2^((5 - s) / 2), exact in float.
float step_factor(int s) {
  const int twice = 5 - s;  // exponent times two
  const double value = std::ldexp(1.0, twice >= 0 ? twice / 2 : -((1 - twice) / 2));
  return static_cast<float>((twice % 2 != 0) ? value * 1.4142135623730951 : value);
}

// Rounded to f16, clamped to its finite range.
float f16_round(double value) {
  return half_to_float(float_to_half(static_cast<float>(std::clamp(value, -65504.0, 65504.0))));
}

// Exact (sink and window) rows travel as f16 when the cache is f32 (the precision the fp16
// baseline sends), else in the cache's own dtype.
DType exact_dtype(DType dtype) {
  return dtype == DType::kF32 ? DType::kF16 : dtype;
}

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// The transform: a calibration, or the identity over each (layer, kind) with zero mean.
struct Transform {
  std::shared_ptr<const KvtcCalibration> calibration;  // null: identity

  bool identity() const { return !calibration || calibration->transform == "identity"; }
  int64_t layers_per_basis() const { return calibration ? calibration->layers_per_basis : 1; }
  int64_t groups(const KVShape& s) const { return s.layers / layers_per_basis(); }
  int64_t dim(const KVShape& s) const { return layers_per_basis() * s.channels(); }
  const KeyRotation* rotation() const {
    return calibration && !calibration->rotation.empty() ? &calibration->rotation : nullptr;
  }
};

// Where the middle (coded) tokens of a chunk are: [begin, end) of its tokens.
struct MiddleRange {
  int64_t begin = 0, end = 0;
  int64_t count() const { return end - begin; }
};

MiddleRange middle_range(int64_t tokens, int64_t first_position, int64_t context_tokens,
                         int64_t sinks, int64_t window) {
  const int64_t window_start = context_tokens - window;
  MiddleRange m;
  m.begin = std::clamp<int64_t>(sinks - first_position, 0, tokens);
  m.end = std::clamp<int64_t>(window_start - first_position, m.begin, tokens);
  return m;
}

// Reads `count` u32 sizes from section `sizes` and returns their running sums [count + 1];
// throws unless the section holds exactly that and the sizes add up to section `data`'s size.
std::vector<uint64_t> offsets_from_sizes(const ContainerView& view, uint32_t sizes, int64_t count,
                                         uint32_t data) {
  if (view.section_size(sizes) != static_cast<uint64_t>(count) * 4) {
    fail("kvtc chunk at byte offset ", view.file_offset(), ": section '", section_tag_name(sizes),
         "' holds ", view.section_size(sizes), " bytes, expected ", count * 4);
  }
  ByteReader reader(view.section_data(sizes), view.section_size(sizes),
                    str("kvtc section '", section_tag_name(sizes), "'"),
                    view.section_file_offset(sizes));
  std::vector<uint64_t> offsets = {0};
  for (int64_t i = 0; i < count; ++i)
    offsets.push_back(offsets.back() + reader.u32());
  if (offsets.back() != view.section_size(data)) {
    fail("kvtc chunk at byte offset ", view.file_offset(), ": the sizes in section '",
         section_tag_name(sizes), "' add up to ", offsets.back(), " bytes, section '",
         section_tag_name(data), "' holds ", view.section_size(data));
  }
  return offsets;
}

// The per-component side information of 'META'.
struct ComponentMeta {
  std::vector<uint16_t> centre, unit;  // f16
  std::vector<uint8_t> choice, table;
  void resize(size_t n) {
    centre.assign(n, 0);
    unit.assign(n, 0);
    choice.assign(n, 0);
    table.assign(n, 0);
  }
  // The components of `domain` (d each) that are coded (choice > 0), in basis order.
  std::vector<int64_t> coded(int64_t domain, int64_t d) const {
    std::vector<int64_t> out;
    for (int64_t k = 0; k < d; ++k) {
      if (choice[static_cast<size_t>(domain * d + k)] > 0)
        out.push_back(k);
    }
    return out;
  }
  float step(size_t j) const { return half_to_float(unit[j]) * step_factor(choice[j]); }
};

class KvtcCodec : public Codec {
 public:
  KvtcCodec(const Options& options, const CodecContext& context)
      : bits_(options.number("bits")),
        sinks_(options.integer("sinks")),
        window_(options.integer("window")),
        relative_(options.text("weighting") == "relative"),
        threads_(context.threads) {
    const std::string path = options.text("calibration");
    const std::string id = options.text("calibration_id");
    if (!path.empty()) {
      transform_.calibration = KvtcCalibration::load(path);
    } else if (!id.empty()) {
      for (const std::string& candidate : context.profile_paths) {
        try {
          auto loaded = KvtcCalibration::load(candidate);
          if (loaded->id == id)
            transform_.calibration = loaded;
        } catch (const Error&) {
          // not a calibration (a cachegen profile, say): keep looking
        }
      }
      if (!transform_.calibration) {
        fail("codec 'kvtc': chunk needs calibration ", id, ", which none of the given files (",
             context.profile_paths.size(), ") is; pass it with --profile FILE");
      }
    }
  }

  std::string name() const override { return "kvtc"; }
  std::string params() const override {
    return str("bits=", bits_,
               ";calibration_id=", transform_.calibration ? transform_.calibration->id : "",
               ";sinks=", sinks_, ";weighting=", relative_ ? "relative" : "mse",
               ";window=", window_);
  }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats* stats) const override {
    kv.check_finite("kvtc encode");
    const KVShape& s = kv.shape();
    check_shape(s, "kvtc encode");
    const ContainerHeader header = make_header(*this, params(), kv, position);
    const MiddleRange middle =
        middle_range(s.tokens, header.token_offset, header.context_tokens, sinks_, window_);
    const int64_t rows = middle.count(), d = transform_.dim(s);
    const int64_t domains = 2 * transform_.groups(s), components = domains * d;

    // 1-2. Coefficients [domain][middle token][component].
    std::vector<float> coefficients(static_cast<size_t>(components * rows));
    std::unique_ptr<RotationTable> rotation;
    if (transform_.rotation())
      rotation =
          std::make_unique<RotationTable>(*transform_.rotation(), header.token_offset, s.tokens);
    std::vector<double> energy(static_cast<size_t>(domains), 0);
    parallel_for(domains, threads_, [&](int64_t domain) {
      energy[static_cast<size_t>(domain)] =
          forward(kv, domain, middle, rotation.get(), coefficients.data() + domain * rows * d);
    });

    // 3. Centre, unit and every choice's rate and distortion, per component.
    ComponentMeta meta;
    meta.resize(static_cast<size_t>(components));
    std::vector<std::vector<RateDistortion>> choices(static_cast<size_t>(components));
    std::vector<std::array<uint8_t, kSteps + 1>> best_tables(static_cast<size_t>(components));
    parallel_for(domains, threads_, [&](int64_t domain) {
      std::vector<float> column(static_cast<size_t>(rows));
      for (int64_t k = 0; k < d; ++k) {
        const int64_t j = domain * d + k;
        const float* c = coefficients.data() + domain * rows * d + k;
        for (int64_t t = 0; t < rows; ++t)
          column[static_cast<size_t>(t)] = c[t * d];
        measure(column, meta, static_cast<size_t>(j), choices[static_cast<size_t>(j)],
                best_tables[static_cast<size_t>(j)]);
        // relative: each domain's squared error counts relative to its energy, so that a layer
        // of small values (shallow layers' values) is not starved for one of large keys.
        const double e = energy[static_cast<size_t>(domain)];
        if (relative_ && e > 0) {
          for (RateDistortion& point : choices[static_cast<size_t>(j)])
            point.distortion /= e;
        }
      }
    });

    // 4. Allocation under what the budget leaves for the payload.
    const int64_t exact_rows = s.layers * 2 * (s.tokens - rows);
    const int64_t streams_bound = domains * (round_up(d, kStreamColumns) / kStreamColumns);
    // Fixed header, name, params, section table, trailer, and each section's padding to 64.
    const int64_t header_bound =
        static_cast<int64_t>(kContainerFixedHeader + 8 + name().size() + header.params.size() +
                             24 * kSections + 4 + kSections * (kSectionAlignment - 1));
    // (escape counts included; the escapes' bytes are part of each choice's measured rate)
    const double fixed_bits =
        8.0 * static_cast<double>(header_bound + kMetaBytes * components + 4 * domains +
                                  streams_bound * (4 + 4 * kLanes));
    const double budget =
        bits_ * static_cast<double>(s.layers * 2 * rows * s.channels()) - fixed_bits;
    const std::vector<int> chosen = rows == 0 ? std::vector<int>(static_cast<size_t>(components), 0)
                                              : allocate_rate(choices, budget);
    for (int64_t j = 0; j < components; ++j) {
      meta.choice[static_cast<size_t>(j)] = static_cast<uint8_t>(chosen[static_cast<size_t>(j)]);
      meta.table[static_cast<size_t>(j)] =
          best_tables[static_cast<size_t>(j)][static_cast<size_t>(chosen[static_cast<size_t>(j)])];
    }

    // 5. Symbols and streams, per domain.
    std::vector<DomainCode> domain_code(static_cast<size_t>(domains));
    parallel_for(domains, threads_, [&](int64_t domain) {
      domain_code[static_cast<size_t>(domain)] =
          encode_domain(coefficients.data() + domain * rows * d, rows, d, domain, meta);
    });

    std::vector<float> exact;
    exact.reserve(static_cast<size_t>(exact_rows * s.channels()));
    std::vector<float> row(static_cast<size_t>(s.channels()));
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int kind : {kKey, kValue}) {
        for (int64_t t = 0; t < s.tokens; ++t) {
          if (t >= middle.begin && t < middle.end)
            continue;
          kv.load_row(l, kind, t, row.data());
          for (float v : row)
            exact.push_back(round_to_dtype(v, exact_dtype(kv.dtype())));
        }
      }
    }
    ByteWriter meta_bytes, lengths;
    for (uint16_t v : meta.centre)
      meta_bytes.u16(v);
    for (uint16_t v : meta.unit)
      meta_bytes.u16(v);
    meta_bytes.bytes(meta.choice.data(), meta.choice.size());
    meta_bytes.bytes(meta.table.data(), meta.table.size());
    std::vector<uint8_t> payload;
    ByteWriter escape_counts;
    std::vector<uint8_t> escapes;
    for (const DomainCode& code : domain_code) {
      escape_counts.u32(static_cast<uint32_t>(code.escapes.size()));
      escapes.insert(escapes.end(), code.escapes.begin(), code.escapes.end());
      for (const auto& stream : code.streams) {
        lengths.u32(static_cast<uint32_t>(stream.size()));
        payload.insert(payload.end(), stream.begin(), stream.end());
      }
    }
    if (stats) {
      stats->payload_bits += 8.0 * static_cast<double>(payload.size());
      // (model and empirical bits: the code length under the fitted fixed tables)
      for (int64_t j = 0; j < components; ++j) {
        const int k = chosen[static_cast<size_t>(j)];
        if (k > 0) {
          const double bits = choices[static_cast<size_t>(j)][static_cast<size_t>(k)].bits;
          stats->model_bits += bits;
          stats->empirical_bits += bits;
          stats->symbols += rows;
        }
      }
    }
    ContainerWriter writer(header);
    writer.add_section(kExact, encode_values(exact, exact_dtype(kv.dtype())));
    writer.add_section(kMeta, std::move(meta_bytes.buffer()));
    writer.add_section(kLengths, std::move(lengths.buffer()));
    writer.add_section(kPayload, std::move(payload));
    writer.add_section(kEscapeCounts, std::move(escape_counts.buffer()));
    writer.add_section(kEscapes, std::move(escapes));
    return writer.finish();
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    check_shape_limits(view);
    KVCache kv = KVCache::uninitialized(view.header().shape, view.header().dtype);
    decode_view(view, kv, 0);
    return kv;
  }

  void decode_into(const uint8_t* data, size_t size, uint64_t file_offset, KVCache& dst,
                   int64_t token_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    if (dst.dtype() != view.header().dtype) {  // as decode() then converting
      Codec::decode_into(data, size, file_offset, dst, token_offset);
      return;
    }
    check_decode_destination(view.header().shape, dst, token_offset,
                             str("kvtc chunk at byte offset ", file_offset));
    decode_view(view, dst, token_offset);
  }

 private:
  void check_shape(const KVShape& s, const std::string& what) const {
    const KvtcCalibration* c = transform_.calibration.get();
    if (c && (c->layers != s.layers || c->kv_heads != s.kv_heads || c->head_dim != s.head_dim)) {
      fail(what, ": calibration ", c->id, " is for ", c->layers, " layers x ", c->kv_heads,
           " heads x ", c->head_dim, ", the chunk is ", s.to_string());
    }
  }

  // Coefficients of one domain's middle tokens: [rows, d] into `out`. Returns the features'
  // energy (sum of squares, keys un-rotated).
  double forward(const KVCache& kv, int64_t domain, const MiddleRange& middle,
                 const RotationTable* rotation, float* out) const {
    const KVShape& s = kv.shape();
    const int64_t groups = transform_.groups(s), d = transform_.dim(s), rows = middle.count();
    const int kind = static_cast<int>(domain / groups);
    MatrixF x(rows, d);
    kvtc_features(kv, kind, domain % groups, transform_.layers_per_basis(), rotation, middle.begin,
                  rows, x.data());
    MapF c(out, rows, d);
    const double energy = x.cast<double>().squaredNorm();
    if (!transform_.calibration) {
      c = x;
      return energy;
    }
    const KvtcCalibration& cal = *transform_.calibration;
    const Eigen::Map<const Eigen::RowVectorXf> mean(cal.domain_mean(domain), d);
    x.rowwise() -= mean;
    if (cal.transform == "identity") {
      c = x;
    } else {
      c.noalias() = x * ConstMapF(cal.domain_basis(domain), d, d).transpose();
    }
    return energy;
  }

  // Centre, unit, and every choice's (rate, distortion) and best table for one component.
  void measure(const std::vector<float>& column, ComponentMeta& meta, size_t j,
               std::vector<RateDistortion>& choices,
               std::array<uint8_t, kSteps + 1>& tables) const {
    const size_t rows = column.size();
    double sum = 0;
    for (float v : column)
      sum += v;
    const float centre = rows == 0 ? 0.0f : f16_round(sum / static_cast<double>(rows));
    double square = 0;
    for (float v : column)
      square += static_cast<double>(v - centre) * static_cast<double>(v - centre);
    const float unit = rows == 0 ? 0.0f : f16_round(std::sqrt(square / static_cast<double>(rows)));
    meta.centre[j] = float_to_half(centre);
    meta.unit[j] = float_to_half(unit);
    choices.assign(1, RateDistortion{0, square});
    tables.fill(0);
    if (!(unit > 0) || !std::isfinite(unit))
      return;  // constant (or beyond f16): only the centre
    std::array<uint32_t, kKvtcHistogram> counts{};
    for (int step_choice = 1; step_choice <= kSteps; ++step_choice) {
      const float step = unit * step_factor(step_choice);
      const float inverse = 1.0f / step;
      counts.fill(0);
      double distortion = 0;
      for (float v : column) {
        const float r = v - centre;
        const float n = std::clamp(std::nearbyint(r * inverse), -127.0f, 127.0f);
        ++counts[static_cast<size_t>(static_cast<int>(n) + kKvtcLimit)];
        const double e = static_cast<double>(r) - static_cast<double>(n * step);
        distortion += e * e;
      }
      double bits = 0;
      tables[static_cast<size_t>(step_choice)] =
          static_cast<uint8_t>(kvtc_best_table(counts.data(), &bits));
      choices.push_back({bits, distortion});
    }
  }

  // rANS streams of one domain's coded components (in component order), padded to a multiple
  // of the lanes with zero symbols under table 0.
  // One domain's coded output: its rANS streams and its escapes' raw bytes (row-major order).
  struct DomainCode {
    std::vector<std::vector<uint8_t>> streams;
    std::vector<uint8_t> escapes;
  };

  DomainCode encode_domain(const float* coefficients, int64_t rows, int64_t d, int64_t domain,
                           const ComponentMeta& meta) const {
    const std::vector<int64_t> coded = meta.coded(domain, d);
    DomainCode out;
    if (coded.empty() || rows == 0)
      return out;
    const int64_t width = round_up(static_cast<int64_t>(coded.size()), kStreamColumns);
    std::vector<int8_t> values(static_cast<size_t>(rows * width), 0);
    std::vector<const FreqTable*> tables(static_cast<size_t>(width), &kvtc_table(0));
    for (size_t i = 0; i < coded.size(); ++i) {
      const size_t j = static_cast<size_t>(domain * d + coded[i]);
      const float centre = half_to_float(meta.centre[j]), step = meta.step(j);
      const float inverse = 1.0f / step;
      tables[i] = &kvtc_table(meta.table[j]);
      for (int64_t t = 0; t < rows; ++t) {
        const float r = coefficients[t * d + coded[i]] - centre;
        const float n = std::clamp(std::nearbyint(r * inverse), -127.0f, 127.0f);
        values[static_cast<size_t>(t * width) + i] = static_cast<int8_t>(n);
      }
    }
    std::vector<uint8_t> symbols(values.size());
    for (size_t i = 0; i < values.size(); ++i) {  // row-major: the order the decoder meets them
      if (std::abs(values[i]) <= kKvtcDirect) {
        symbols[i] = static_cast<uint8_t>(values[i] + kKvtcDirect);
      } else {
        symbols[i] = kKvtcEscape;
        out.escapes.push_back(static_cast<uint8_t>(values[i]));
      }
    }
    for (int64_t first = 0; first < width; first += kStreamColumns) {
      out.streams.emplace_back();
      rans_encode(symbols.data() + first, rows, kStreamColumns, width, kLanes,
                  tables.data() + first, out.streams.back());
    }
    return out;
  }

  void decode_view(const ContainerView& view, KVCache& dst, int64_t token_offset) const {
    const ContainerHeader& h = view.header();
    const KVShape& s = h.shape;
    check_shape(s, str("kvtc chunk at byte offset ", view.file_offset()));
    const MiddleRange middle =
        middle_range(s.tokens, h.token_offset, h.context_tokens, sinks_, window_);
    const int64_t rows = middle.count(), d = transform_.dim(s);
    const int64_t domains = 2 * transform_.groups(s), components = domains * d;
    if (s.layers % transform_.layers_per_basis() != 0)
      fail("kvtc chunk at byte offset ", view.file_offset(), ": ", s.layers, " layers");

    // Exact rows.
    const std::vector<float> exact = decode_values(
        view, kExact, s.layers * 2 * (s.tokens - rows) * s.channels(), exact_dtype(h.dtype));
    const float* next = exact.data();
    for (int64_t l = 0; l < s.layers; ++l) {
      for (int kind : {kKey, kValue}) {
        for (int64_t t = 0; t < s.tokens; ++t) {
          if (t >= middle.begin && t < middle.end)
            continue;
          dst.store_row(l, kind, token_offset + t, next);
          next += s.channels();
        }
      }
    }

    // Side information.
    const uint64_t meta_expected = static_cast<uint64_t>(components * kMetaBytes);
    if (view.section_size(kMeta) != meta_expected) {
      fail("kvtc chunk at byte offset ", view.file_offset(), ": section 'META' holds ",
           view.section_size(kMeta), " bytes, expected ", meta_expected);
    }
    ComponentMeta meta;
    meta.resize(static_cast<size_t>(components));
    ByteReader reader(view.section_data(kMeta), view.section_size(kMeta), "kvtc section 'META'",
                      view.section_file_offset(kMeta));
    for (auto& v : meta.centre)
      v = reader.u16();
    for (auto& v : meta.unit)
      v = reader.u16();
    std::memcpy(meta.choice.data(), reader.take(meta.choice.size()), meta.choice.size());
    std::memcpy(meta.table.data(), reader.take(meta.table.size()), meta.table.size());
    std::vector<int64_t> domain_streams(static_cast<size_t>(domains), 0);
    for (int64_t j = 0; j < components; ++j) {
      const size_t i = static_cast<size_t>(j);
      const uint64_t at = view.section_file_offset(kMeta);
      if (!std::isfinite(half_to_float(meta.centre[i])) ||
          !std::isfinite(half_to_float(meta.unit[i])) || meta.choice[i] > kSteps ||
          meta.table[i] >= kKvtcTableCount ||
          (meta.choice[i] > 0 && !(half_to_float(meta.unit[i]) > 0))) {
        fail("kvtc chunk: section 'META' (byte offset ", at,
             ") has an invalid entry for "
             "component ",
             j);
      }
    }
    // Streams per domain follow from the coded components.
    std::vector<std::vector<int64_t>> coded(static_cast<size_t>(domains));
    int64_t stream_count = 0;
    for (int64_t domain = 0; domain < domains; ++domain) {
      coded[static_cast<size_t>(domain)] = meta.coded(domain, d);
      if (rows > 0) {
        domain_streams[static_cast<size_t>(domain)] =
            round_up(static_cast<int64_t>(coded[static_cast<size_t>(domain)].size()),
                     kStreamColumns) /
            kStreamColumns;
      }
      stream_count += domain_streams[static_cast<size_t>(domain)];
    }
    const std::vector<uint64_t> starts = offsets_from_sizes(view, kLengths, stream_count, kPayload);
    std::vector<int64_t> first_stream(static_cast<size_t>(domains) + 1, 0);
    for (int64_t domain = 0; domain < domains; ++domain)
      first_stream[static_cast<size_t>(domain) + 1] =
          first_stream[static_cast<size_t>(domain)] + domain_streams[static_cast<size_t>(domain)];
    const std::vector<uint64_t> escape_start =
        offsets_from_sizes(view, kEscapeCounts, domains, kEscapes);
    if (rows == 0)
      return;

    // Symbols of every domain ([rows, width] each, width = coded components padded to whole
    // streams), then per domain the reconstruction. Streams all have the same shape, so the
    // vector rANS kernel decodes them kDecodeBatch at a time.
    std::vector<int64_t> symbol_offset(static_cast<size_t>(domains) + 1, 0);
    for (int64_t domain = 0; domain < domains; ++domain) {
      symbol_offset[static_cast<size_t>(domain) + 1] =
          symbol_offset[static_cast<size_t>(domain)] +
          rows * domain_streams[static_cast<size_t>(domain)] * kStreamColumns;
    }
    // (not zeroed: the streams write every symbol, padding included, or decoding throws)
    std::unique_ptr<uint8_t[]> symbols(new uint8_t[static_cast<size_t>(symbol_offset.back())]);
    std::vector<const FreqTable*> tables(static_cast<size_t>(stream_count * kStreamColumns),
                                         &kvtc_table(0));
    std::vector<RansStream> streams(static_cast<size_t>(stream_count));
    for (int64_t domain = 0; domain < domains; ++domain) {
      const auto& columns = coded[static_cast<size_t>(domain)];
      const int64_t first = first_stream[static_cast<size_t>(domain)];
      for (size_t i = 0; i < columns.size(); ++i) {
        tables[static_cast<size_t>(first * kStreamColumns) + i] =
            &kvtc_table(meta.table[static_cast<size_t>(domain * d + columns[i])]);
      }
      for (int64_t k = 0; k < domain_streams[static_cast<size_t>(domain)]; ++k) {
        const size_t stream = static_cast<size_t>(first + k);
        streams[stream] = RansStream{
            view.section_data(kPayload) + starts[stream], starts[stream + 1] - starts[stream],
            view.section_file_offset(kPayload) + starts[stream],
            tables.data() + stream * kStreamColumns,
            symbols.get() + symbol_offset[static_cast<size_t>(domain)] + k * kStreamColumns};
      }
    }
    // A stream's stride is its domain's width; a batch holds streams of one width, from one
    // domain or several (the kernel hides each stream's latency behind the others').
    std::vector<std::vector<int64_t>> by_width;  // [streams per domain] -> streams
    for (int64_t domain = 0; domain < domains; ++domain) {
      const auto width_streams = static_cast<size_t>(domain_streams[static_cast<size_t>(domain)]);
      if (by_width.size() <= width_streams)
        by_width.resize(width_streams + 1);
      for (int64_t k = first_stream[static_cast<size_t>(domain)];
           k < first_stream[static_cast<size_t>(domain) + 1]; ++k)
        by_width[width_streams].push_back(k);
    }
    struct Batch {
      int64_t width_streams;
      std::vector<RansStream> streams;
    };
    std::vector<Batch> batches;
    for (size_t w = 1; w < by_width.size(); ++w) {
      for (size_t b = 0; b < by_width[w].size(); b += kDecodeBatch) {
        Batch batch{static_cast<int64_t>(w), {}};
        for (size_t i = b; i < std::min(by_width[w].size(), b + kDecodeBatch); ++i)
          batch.streams.push_back(streams[static_cast<size_t>(by_width[w][i])]);
        batches.push_back(std::move(batch));
      }
    }
    parallel_for(static_cast<int64_t>(batches.size()), threads_, [&](int64_t b) {
      const Batch& batch = batches[static_cast<size_t>(b)];
      rans_decode_batch(batch.streams.data(), static_cast<int>(batch.streams.size()), rows,
                        kStreamColumns, batch.width_streams * kStreamColumns, kLanes);
    });

    std::unique_ptr<RotationTable> rotation;
    if (transform_.rotation())
      rotation = std::make_unique<RotationTable>(*transform_.rotation(), h.token_offset, s.tokens);
    parallel_for(domains, threads_, [&](int64_t domain) {
      resolve_escapes(view, escape_start[static_cast<size_t>(domain)],
                      escape_start[static_cast<size_t>(domain) + 1],
                      symbols.get() + symbol_offset[static_cast<size_t>(domain)], rows,
                      domain_streams[static_cast<size_t>(domain)] * kStreamColumns,
                      static_cast<int64_t>(coded[static_cast<size_t>(domain)].size()));
      reconstruct(domain, s, meta, coded[static_cast<size_t>(domain)],
                  symbols.get() + symbol_offset[static_cast<size_t>(domain)],
                  domain_streams[static_cast<size_t>(domain)] * kStreamColumns, middle,
                  rotation.get(), dst, token_offset);
    });
  }

  // Turns one domain's symbols [rows, width] into the coefficients n (int8, in place) for its
  // `coded` first columns: symbol - 15, or the next raw byte of the domain's escapes
  // [begin, end) of 'ESCV' for an escape. Throws unless every escape byte is used and valid.
  static void resolve_escapes(const ContainerView& view, uint64_t begin, uint64_t end,
                              uint8_t* symbols, int64_t rows, int64_t width, int64_t coded) {
    const uint8_t* raw = view.section_data(kEscapes);
    uint64_t next = begin;
    // Direct symbols s become s - 15 in [-15, 15]; the escape (31) becomes 16, which no direct
    // symbol does, so a byte search finds the escapes (rare) after one vectorizable pass.
    constexpr uint8_t kEscapeMark = kKvtcEscape - kKvtcDirect;
    for (int64_t t = 0; t < rows; ++t) {
      uint8_t* row = symbols + t * width;
      for (int64_t i = 0; i < coded; ++i)
        row[i] = static_cast<uint8_t>(row[i] - kKvtcDirect);
      for (auto* at =
               static_cast<uint8_t*>(std::memchr(row, kEscapeMark, static_cast<size_t>(coded)));
           at != nullptr; at = static_cast<uint8_t*>(std::memchr(
                              at + 1, kEscapeMark, static_cast<size_t>(row + coded - at - 1)))) {
        const auto value = next < end ? static_cast<int8_t>(raw[next]) : int8_t{0};
        if (next >= end || std::abs(static_cast<int>(value)) <= kKvtcDirect ||
            value < -kKvtcLimit) {
          fail("kvtc chunk: escape ", next - begin, " of a domain (section 'ESCV' byte offset ",
               view.section_file_offset(kEscapes) + next, ") is missing or not an escaped value");
        }
        *at = static_cast<uint8_t>(value);
        ++next;
      }
    }
    if (next != end) {
      fail("kvtc chunk: section 'ESCV' has ", end - next, " unused escape bytes at byte offset ",
           view.section_file_offset(kEscapes) + next);
    }
  }

  // x = mean + B^T (centre + n * step) for one domain's middle tokens (n: int8 coefficients
  // [rows, width], first k columns), written into dst: in blocks of kRowBlock tokens through a
  // small buffer [kRowBlock, d] floats that stays in cache, then keys re-rotated and rows stored.
  void reconstruct(int64_t domain, const KVShape& s, const ComponentMeta& meta,
                   const std::vector<int64_t>& coded, const uint8_t* symbols, int64_t width,
                   const MiddleRange& middle, const RotationTable* rotation, KVCache& dst,
                   int64_t token_offset) const {
    constexpr int64_t kRowBlock = 64;
    const int64_t d = transform_.dim(s), rows = middle.count(),
                  k = static_cast<int64_t>(coded.size());
    const int64_t groups = transform_.groups(s), lpb = transform_.layers_per_basis();
    const KvtcCalibration* cal = transform_.calibration.get();
    const auto* n = reinterpret_cast<const int8_t*>(symbols);  // int8 by now (resolve_escapes)
    // offset = mean + B^T centre over all components (dropped ones decode as their centre), and
    // per coded component its step and (with a basis) its basis row times the step [k, d]:
    // fixed-order loops (no Eigen product, whose summation order depends on the CPU and caches).
    std::vector<float> centre(static_cast<size_t>(d)), offset(static_cast<size_t>(d), 0.0f),
        step(static_cast<size_t>(k)), scaled;
    for (int64_t j = 0; j < d; ++j)
      centre[static_cast<size_t>(j)] =
          half_to_float(meta.centre[static_cast<size_t>(domain * d + j)]);
    for (int64_t i = 0; i < k; ++i)
      step[static_cast<size_t>(i)] =
          meta.step(static_cast<size_t>(domain * d + coded[static_cast<size_t>(i)]));
    if (transform_.identity()) {
      for (int64_t j = 0; j < d; ++j) {
        offset[static_cast<size_t>(j)] =
            cal ? centre[static_cast<size_t>(j)] + cal->domain_mean(domain)[j]
                : centre[static_cast<size_t>(j)];
      }
    } else {
      const float* basis = cal->domain_basis(domain);
      for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = 0; j < d; ++j)
          offset[static_cast<size_t>(j)] += centre[static_cast<size_t>(i)] * basis[i * d + j];
      }
      for (int64_t j = 0; j < d; ++j)
        offset[static_cast<size_t>(j)] += cal->domain_mean(domain)[j];
      scaled.resize(static_cast<size_t>(k * d));
      for (int64_t i = 0; i < k; ++i) {
        const float* row = basis + coded[static_cast<size_t>(i)] * d;
        for (int64_t j = 0; j < d; ++j)
          scaled[static_cast<size_t>(i * d + j)] = row[j] * step[static_cast<size_t>(i)];
      }
    }
    const int kind = static_cast<int>(domain / groups);
    const int64_t group = domain % groups;
    std::vector<float> x(static_cast<size_t>(kRowBlock * d));
    for (int64_t first = 0; first < rows; first += kRowBlock) {
      const int64_t count = std::min(kRowBlock, rows - first);
      if (transform_.identity()) {
        // Each coded channel: offset + n * step (one rounding each), the others the offset.
        for (int64_t t = 0; t < count; ++t) {
          float* row = x.data() + t * d;
          const int8_t* coefficients = n + (first + t) * width;
          std::copy(offset.begin(), offset.end(), row);
          for (int64_t i = 0; i < k; ++i) {
            row[coded[static_cast<size_t>(i)]] +=
                static_cast<float>(coefficients[i]) * step[static_cast<size_t>(i)];
          }
        }
      } else {
        kvtc_synthesize(n + first * width, width, count, k, scaled.data(), d, offset.data(),
                        x.data());
      }
      for (int64_t t = 0; t < count; ++t) {
        const int64_t token = middle.begin + first + t;
        for (int64_t i = 0; i < lpb; ++i) {
          float* row = x.data() + t * d + i * s.channels();
          if (rotation && kind == kKey)
            rotation->rotate(row, s.kv_heads, token, false);
          dst.store_row(group * lpb + i, kind, token_offset + token, row);
        }
      }
    }
  }

  double bits_;
  int64_t sinks_, window_;
  bool relative_;
  int threads_;
  Transform transform_;
};
}  // namespace

CACHEGEN_REGISTER(
    codec_registry(),
    {"kvtc",
     "transform codec (KVTC): calibrated PCA, rate allocation, rANS",
     {number_option("bits", 2, 0.01, 16,
                    "budget in bits per coded element, metadata counted (exact sink and window "
                    "tokens come on top)"),
      file_option("calibration",
                  "a calibration (cachegen calibrate); none: identity transform, per channel"),
      text_option("calibration_id", "",
                  "the calibration's id, written into containers (decode looks it up among the "
                  "given --profile files)"),
      integer_option("sinks", 4, 0, 1 << 20, "leading context tokens kept exact"),
      integer_option("window", 128, 0, 1 << 20, "trailing context tokens kept exact"),
      choice_option("weighting", "relative", {"relative", "mse"},
                    "what the rate allocation minimises: each domain's (kind, layer group) "
                    "squared error relative to its energy, or the plain squared error")},
     nullptr,
     "bits=12"},  // the conformance test's 16-token chunks: metadata dominates small budgets
    [](const Options& options, const CodecContext& context) {
      return std::make_unique<KvtcCodec>(options, context);
    });

}  // namespace cachegen
