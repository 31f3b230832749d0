// cachegen: the CacheGen KV codec (Liu et al., SIGCOMM 2024; ../shared/reference/cachegen.md §1).
//
// Encode, per chunk:
//  1. Quantize each (layer, kind, token) vector of C channels with one absmax scale and the
//     layer's bin count (level_table.h: shallow layers get more bins). With delta=on, tokens are
//     grouped by `delta_group` (10 in the paper); the first of each group, the anchor, is
//     quantized at `anchor_bins` (8-bit), the others as the difference from the reconstructed
//     anchor. Symbols fall in "planes": plane 0 holds all tokens (delta=off) or the non-anchor
//     tokens; plane 1 holds the anchors.
//  2. Count symbols per (plane, layer, kind, channel) and build one probability table for each
//     (the paper's insight: distributions differ across layers and channels). tables=chunk ships
//     the counts in the chunk, as the released code does; tables=profile names an offline
//     profile by id instead, as the paper does.
//  3. Entropy-code each block of `lanes * lane_channels` channels (rANS) or `lane_channels`
//     channels (arithmetic coder) over all of the plane's tokens as one independent stream. The
//     streams are what a GPU decodes in parallel; rANS lanes interleave within a stream.
//
// Sections: 'SCAL' scales [L, 2, T] in the input dtype; 'TABL' counts (tables=chunk) as varints:
// per (plane, layer, kind, channel) the lowest used symbol, the span, then each count;
// 'LENS' varint byte length of each stream; 'PAYL' the streams back to back.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "cachegen/codec/arith_coder.h"
#include "cachegen/codec/codecs.h"
#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/level_table.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/core/parallel.h"
#include "codec_common.h"

namespace cachegen {

namespace {
constexpr uint32_t kScales = section_tag("SCAL");
constexpr uint32_t kTables = section_tag("TABL");
constexpr uint32_t kLengths = section_tag("LENS");
constexpr uint32_t kPayload = section_tag("PAYL");
constexpr size_t kDecodeBatch = 4;  // rANS streams decoded together

float dtype_max(DType dtype) {
  return dtype == DType::kF16 ? 65504.0f : std::numeric_limits<float>::max();
}

// Everything derived from the parameters and the chunk's shape.
struct Plan {
  int64_t layers = 0, tokens = 0, channels = 0;
  LayerBins bins;
  bool delta = false;
  int64_t delta_group = 10;
  int anchor_bins = 256;
  int planes = 1;
  std::vector<int64_t> rows[2];  // token indices of each plane, ascending

  int bins_of(int plane, int64_t layer, int kind) const {
    if (plane == 1)
      return anchor_bins;
    return kind == kKey ? bins.key[static_cast<size_t>(layer)]
                        : bins.value[static_cast<size_t>(layer)];
  }
  int alphabet(int plane, int64_t layer, int kind) const { return bins_of(plane, layer, kind) - 1; }
  bool is_anchor(int64_t token) const { return delta && token % delta_group == 0; }
  int64_t plane_rows(int plane) const { return static_cast<int64_t>(rows[plane].size()); }
  // Tables in order (plane, layer, kind, channel).
  int64_t table_count() const { return planes * layers * 2 * channels; }
  int64_t table_index(int plane, int64_t layer, int kind, int64_t channel) const {
    return ((plane * layers + layer) * 2 + kind) * channels + channel;
  }
  // Offsets of each table's counts in one flat array (alphabets differ per layer).
  std::vector<int64_t> count_offsets() const {
    std::vector<int64_t> offsets(static_cast<size_t>(table_count()) + 1, 0);
    for (int p = 0; p < planes; ++p) {
      for (int64_t l = 0; l < layers; ++l) {
        for (int kind = 0; kind < 2; ++kind) {
          for (int64_t c = 0; c < channels; ++c) {
            auto i = static_cast<size_t>(table_index(p, l, kind, c));
            offsets[i + 1] = offsets[i] + alphabet(p, l, kind);
          }
        }
      }
    }
    return offsets;
  }
};

// One independent entropy-coded stream: a block of channels of one (plane, layer, kind).
struct StreamTask {
  int plane;
  int64_t layer;
  int kind;
  int64_t first_channel;
  int64_t channels;
};

class CachegenCodec : public Codec {
 public:
  CachegenCodec(Options& options, const CodecContext& context) : threads_(context.threads) {
    level_ = static_cast<int>(options.get_int("level", 2, kMinLevel, kMaxLevel));
    std::string key_bins = options.get_string("key_bins", "");
    std::string value_bins = options.get_string("value_bins", "");
    if (!key_bins.empty())
      key_bins_ = parse_bins(key_bins, "codec 'cachegen' option 'key_bins'");
    if (!value_bins.empty()) {
      value_bins_ = parse_bins(value_bins, "codec 'cachegen' option 'value_bins'");
    }
    coder_ = options.get_choice("coder", "rans", {"rans", "ac"});
    delta_ = options.get_bool("delta", false);
    delta_group_ = options.get_int("delta_group", 10, 2, 1 << 16);
    anchor_bins_ = static_cast<int>(options.get_int("anchor_bins", 256, 3, 256));
    precision_ = static_cast<int>(options.get_int("precision", 16, kMinPrecision, kMaxPrecision));
    lanes_ = static_cast<int>(options.get_int("lanes", 32, 1, 256));
    lane_channels_ = options.get_int("lane_channels", coder_ == "ac" ? 1 : 4, 1, 1 << 16);
    tables_ = options.get_choice("tables", "chunk", {"chunk", "profile"});
    std::string profile_path = options.get_string("profile", "");
    std::string profile_id = options.get_string("profile_id", "");
    if (!profile_path.empty()) {
      tables_ = "profile";
      profile_ = ProbabilityProfile::load(profile_path);
    } else if (!profile_id.empty()) {
      tables_ = "profile";
      for (const std::string& path : context.profile_paths) {
        auto candidate = ProbabilityProfile::load(path);
        if (candidate->id == profile_id)
          profile_ = candidate;
      }
      if (!profile_) {
        fail("codec 'cachegen': chunk needs probability profile ", profile_id,
             ", which none of the given profiles (", context.profile_paths.size(),
             ") has; pass it with --profile FILE");
      }
    } else if (tables_ == "profile") {
      fail(
          "codec 'cachegen': tables=profile needs --opt profile=FILE (built by `cachegen "
          "profile`)");
    }
  }

  std::string name() const override { return "cachegen"; }

  std::string params() const override { return format_options(param_map(-1)); }

  // Parameters with the per-layer bins resolved for `layers` (what containers store).
  std::map<std::string, std::string> param_map(int64_t layers) const {
    std::map<std::string, std::string> p;
    p["level"] = str(level_);
    p["coder"] = coder_;
    p["delta"] = delta_ ? "on" : "off";
    if (delta_) {
      p["delta_group"] = str(delta_group_);
      p["anchor_bins"] = str(anchor_bins_);
    }
    p["precision"] = str(precision_);
    p["lanes"] = str(lanes_);
    p["lane_channels"] = str(lane_channels_);
    p["tables"] = tables_;
    if (profile_)
      p["profile_id"] = profile_->id;
    if (layers >= 0) {
      LayerBins bins = resolve_bins(layers);
      p["key_bins"] = format_bins(bins.key);
      p["value_bins"] = format_bins(bins.value);
    } else {
      if (!key_bins_.empty())
        p["key_bins"] = format_bins(key_bins_);
      if (!value_bins_.empty())
        p["value_bins"] = format_bins(value_bins_);
    }
    return p;
  }

  // The parameters that define the symbol alphabets: a profile must agree on them.
  std::string defining_params(int64_t layers) const {
    std::map<std::string, std::string> p = param_map(layers);
    for (const char* key : {"level", "coder", "lanes", "lane_channels", "tables", "profile_id"}) {
      p.erase(key);
    }
    return format_options(p);
  }

  LayerBins resolve_bins(int64_t layers) const {
    LayerBins bins = level_bins(level_, static_cast<int>(layers));
    if (!key_bins_.empty())
      bins.key = key_bins_;
    if (!value_bins_.empty())
      bins.value = value_bins_;
    if (static_cast<int64_t>(bins.key.size()) != layers ||
        static_cast<int64_t>(bins.value.size()) != layers) {
      fail("codec 'cachegen': key_bins/value_bins list ", bins.key.size(), "/", bins.value.size(),
           " layers but the KV cache has ", layers);
    }
    return bins;
  }

  Plan make_plan(const KVShape& shape) const {
    Plan plan;
    plan.layers = shape.layers;
    plan.tokens = shape.tokens;
    plan.channels = shape.channels();
    plan.bins = resolve_bins(shape.layers);
    plan.delta = delta_;
    plan.delta_group = delta_group_;
    plan.anchor_bins = anchor_bins_;
    plan.planes = delta_ ? 2 : 1;
    for (int64_t t = 0; t < shape.tokens; ++t)
      plan.rows[plan.is_anchor(t) ? 1 : 0].push_back(t);
    return plan;
  }

  std::vector<StreamTask> stream_tasks(const Plan& plan) const {
    const int64_t width = coder_ == "rans" ? lanes_ * lane_channels_ : lane_channels_;
    std::vector<StreamTask> tasks;
    for (int p = 0; p < plan.planes; ++p) {
      if (plan.plane_rows(p) == 0)
        continue;
      for (int64_t l = 0; l < plan.layers; ++l) {
        for (int kind = 0; kind < 2; ++kind) {
          for (int64_t c = 0; c < plan.channels; c += width) {
            tasks.push_back({p, l, kind, c, std::min(width, plan.channels - c)});
          }
        }
      }
    }
    return tasks;
  }

  // rANS lanes of a stream of n channels: the largest divisor of n not above `lanes`.
  int lanes_for(int64_t n) const {
    int lanes = static_cast<int>(std::min<int64_t>(lanes_, n));
    while (n % lanes != 0)
      --lanes;
    return lanes;
  }

  // Quantized symbols per plane: [layer, kind, plane row, channel], and scales [L, 2, T].
  struct Quantized {
    ByteBuffer symbols[2];
    std::vector<float> scales;
  };

  Quantized quantize(const KVCache& kv, const Plan& plan) const {
    const int64_t c = plan.channels, t_count = plan.tokens;
    Quantized out;
    for (int p = 0; p < plan.planes; ++p) {
      out.symbols[p].resize(static_cast<size_t>(plan.layers * 2 * plan.plane_rows(p) * c));
    }
    out.scales.resize(static_cast<size_t>(plan.layers * 2 * t_count));
    const DType dtype = kv.dtype();
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      const int64_t layer = lk / 2;
      const int kind = static_cast<int>(lk % 2);
      std::vector<float> x(static_cast<size_t>(c)), anchor(static_cast<size_t>(c)),
          diff(static_cast<size_t>(c));
      int64_t next_row[2] = {0, 0};
      for (int64_t t = 0; t < t_count; ++t) {
        kv.load_row(layer, kind, t, x.data());
        for (int64_t i = 0; i < c; ++i) {  // NaN or Inf would quantize to garbage
          if (!std::isfinite(x[static_cast<size_t>(i)])) {
            fail("cachegen encode: non-finite value ", x[static_cast<size_t>(i)], " at layer ",
                 layer, ", ", kv_kind_name(kind), ", token ", t, ", channel ", i);
          }
        }
        const int plane = plan.is_anchor(t) ? 1 : 0;
        const int max_level = plan.bins_of(plane, layer, kind) / 2 - 1;
        uint8_t* q =
            out.symbols[plane].data() + (lk * plan.plane_rows(plane) + next_row[plane]++) * c;
        float& scale = out.scales[static_cast<size_t>(lk * t_count + t)];
        if (!plan.delta || plane == 1) {
          scale = absmax(x.data(), c);  // an input value: exact in dtype
          quantize_symmetric(x.data(), c, scale, max_level, q);
          if (plane == 1) {  // keep the anchor exactly as the decoder will see it
            for (int64_t i = 0; i < c; ++i) {
              anchor[static_cast<size_t>(i)] =
                  round_to_dtype(dequantize_symmetric(q[i], max_level, scale), dtype);
            }
          }
        } else {
          for (int64_t i = 0; i < c; ++i) {
            diff[static_cast<size_t>(i)] =
                x[static_cast<size_t>(i)] - anchor[static_cast<size_t>(i)];
          }
          scale = std::min(round_to_dtype(absmax(diff.data(), c), dtype), dtype_max(dtype));
          quantize_symmetric(diff.data(), c, scale, max_level, q);
        }
      }
    });
    return out;
  }

  std::vector<uint32_t> count_symbols(const Quantized& q, const Plan& plan,
                                      const std::vector<int64_t>& offsets) const {
    std::vector<uint32_t> counts(static_cast<size_t>(offsets.back()), 0);
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      for (int p = 0; p < plan.planes; ++p) {
        const int alphabet = plan.alphabet(p, lk / 2, static_cast<int>(lk % 2));
        uint32_t* base =
            counts.data() +
            offsets[static_cast<size_t>(plan.table_index(p, lk / 2, static_cast<int>(lk % 2), 0))];
        const uint8_t* sym = q.symbols[p].data() + lk * plan.plane_rows(p) * plan.channels;
        for (int64_t r = 0; r < plan.plane_rows(p); ++r) {
          for (int64_t c = 0; c < plan.channels; ++c)
            ++base[c * alphabet + sym[r * plan.channels + c]];
        }
      }
    });
    return counts;
  }

  std::vector<FreqTable> build_tables(const Plan& plan, const std::vector<int64_t>& offsets,
                                      const std::vector<uint32_t>& counts, bool all_symbols) const {
    std::vector<FreqTable> tables(static_cast<size_t>(plan.table_count()));
    parallel_for(plan.table_count(), threads_, [&](int64_t i) {
      int64_t per_plane = plan.layers * 2 * plan.channels;
      int p = static_cast<int>(i / per_plane);
      int64_t lk = (i % per_plane) / plan.channels;
      tables[static_cast<size_t>(i)] = FreqTable::from_counts(
          counts.data() + offsets[static_cast<size_t>(i)],
          plan.alphabet(p, lk / 2, static_cast<int>(lk % 2)), precision_, all_symbols);
    });
    return tables;
  }

  std::vector<uint32_t> profile_counts(const Plan& plan,
                                       const std::vector<int64_t>& offsets) const {
    if (profile_->params != defining_params(plan.layers) || profile_->channels != plan.channels ||
        profile_->layers != plan.layers ||
        static_cast<int64_t>(profile_->counts.size()) != offsets.back()) {
      fail("codec 'cachegen': profile ", profile_->id, " was built for '", profile_->params,
           "' with ", profile_->layers, " layers x ", profile_->channels,
           " channels; this chunk needs '", defining_params(plan.layers), "' with ", plan.layers,
           " x ", plan.channels);
    }
    return profile_->counts;
  }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats* stats) const override {
    const Plan plan = make_plan(kv.shape());
    const Quantized q = quantize(kv, plan);
    const std::vector<int64_t> offsets = plan.count_offsets();
    const std::vector<uint32_t> counts = count_symbols(q, plan, offsets);
    const std::vector<FreqTable> tables =
        profile_ ? build_tables(plan, offsets, profile_counts(plan, offsets), true)
                 : build_tables(plan, offsets, counts, false);
    std::vector<const FreqTable*> table_ptrs;
    for (const FreqTable& t : tables)
      table_ptrs.push_back(&t);

    const std::vector<StreamTask> tasks = stream_tasks(plan);
    std::vector<std::vector<uint8_t>> streams(tasks.size());
    parallel_for(static_cast<int64_t>(tasks.size()), threads_, [&](int64_t i) {
      const StreamTask& task = tasks[static_cast<size_t>(i)];
      const uint8_t* sym =
          q.symbols[task.plane].data() +
          (task.layer * 2 + task.kind) * plan.plane_rows(task.plane) * plan.channels +
          task.first_channel;
      const FreqTable* const* t = &table_ptrs[static_cast<size_t>(
          plan.table_index(task.plane, task.layer, task.kind, task.first_channel))];
      std::vector<uint8_t>& out = streams[static_cast<size_t>(i)];
      if (coder_ == "rans") {
        rans_encode(sym, plan.plane_rows(task.plane), task.channels, plan.channels,
                    lanes_for(task.channels), t, out);
      } else {
        arith_encode(sym, plan.plane_rows(task.plane), task.channels, plan.channels, t, out);
      }
    });

    ByteWriter lengths;
    std::vector<uint8_t> payload;
    for (const auto& s : streams) {
      lengths.varint(s.size());
      payload.insert(payload.end(), s.begin(), s.end());
    }
    ContainerWriter writer(
        make_header(*this, format_options(param_map(plan.layers)), kv, position));
    writer.add_section(kScales, encode_values(q.scales, kv.dtype()));
    if (!profile_)
      writer.add_section(kTables, serialize_counts(plan, offsets, counts));
    writer.add_section(kLengths, std::move(lengths.buffer()));
    if (stats) {
      stats->payload_bits += 8.0 * static_cast<double>(payload.size());
      for (int64_t i = 0; i < plan.table_count(); ++i) {
        int64_t rows = plan.plane_rows(static_cast<int>(i / (plan.layers * 2 * plan.channels)));
        if (rows == 0)
          continue;
        const uint32_t* c = counts.data() + offsets[static_cast<size_t>(i)];
        stats->model_bits += tables[static_cast<size_t>(i)].model_bits(c);
        stats->empirical_bits += empirical_bits(c, tables[static_cast<size_t>(i)].alphabet());
        stats->symbols += rows;
      }
    }
    writer.add_section(kPayload, std::move(payload));
    return writer.finish();
  }

  std::vector<uint8_t> serialize_counts(const Plan& plan, const std::vector<int64_t>& offsets,
                                        const std::vector<uint32_t>& counts) const {
    ByteWriter w;
    for (int64_t i = 0; i < plan.table_count(); ++i) {
      int p = static_cast<int>(i / (plan.layers * 2 * plan.channels));
      if (plan.plane_rows(p) == 0)
        continue;
      const uint32_t* c = counts.data() + offsets[static_cast<size_t>(i)];
      int64_t alphabet = offsets[static_cast<size_t>(i) + 1] - offsets[static_cast<size_t>(i)];
      int64_t lo = 0, hi = alphabet - 1;
      while (c[lo] == 0)
        ++lo;  // every used table has at least one symbol
      while (c[hi] == 0)
        --hi;
      w.varint(static_cast<uint64_t>(lo));
      w.varint(static_cast<uint64_t>(hi - lo));
      for (int64_t s = lo; s <= hi; ++s)
        w.varint(c[s]);
    }
    return std::move(w.buffer());
  }

  std::vector<uint32_t> parse_counts(const ContainerView& view, const Plan& plan,
                                     const std::vector<int64_t>& offsets) const {
    std::vector<uint32_t> counts(static_cast<size_t>(offsets.back()), 0);
    ByteReader r(view.section_data(kTables), view.section_size(kTables),
                 str("container in '", view.source(), "' section 'TABL'"),
                 view.section_file_offset(kTables));
    for (int64_t i = 0; i < plan.table_count(); ++i) {
      int p = static_cast<int>(i / (plan.layers * 2 * plan.channels));
      uint64_t rows = static_cast<uint64_t>(plan.plane_rows(p));
      if (rows == 0)
        continue;
      uint32_t* c = counts.data() + offsets[static_cast<size_t>(i)];
      uint64_t alphabet = static_cast<uint64_t>(offsets[static_cast<size_t>(i) + 1] -
                                                offsets[static_cast<size_t>(i)]);
      uint64_t lo = r.varint(), span = r.varint();
      if (lo >= alphabet || span >= alphabet - lo) {
        r.fail_here(str("table ", i, " uses symbols [", lo, ", ", lo + span,
                        "] outside its alphabet of ", alphabet));
      }
      uint64_t sum = 0;
      for (uint64_t s = lo; s <= lo + span; ++s) {
        uint64_t n = r.varint();
        if (n > rows)
          r.fail_here(str("table ", i, " count ", n, " exceeds ", rows, " rows"));
        c[s] = static_cast<uint32_t>(n);
        sum += n;
      }
      if (sum != rows) {
        r.fail_here(str("table ", i, " counts sum to ", sum, ", expected ", rows));
      }
    }
    if (r.remaining() != 0)
      r.fail_here(str(r.remaining(), " unexpected trailing bytes"));
    return counts;
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = ContainerView::parse(data, size, file_offset, "input");
    const ContainerHeader& h = view.header();
    if (h.codec != name()) {
      fail("container at byte offset ", file_offset, " was written by codec '", h.codec,
           "', not 'cachegen'");
    }
    check_shape_limits(view);
    const Plan plan = make_plan(h.shape);
    const std::string expected = format_options(param_map(plan.layers));
    if (h.params != expected) {
      fail("container at byte offset ", file_offset, " has parameters '", h.params,
           "' but the decoder was built with '", expected, "'");
    }
    const int64_t c = plan.channels;
    std::vector<float> scales =
        decode_values(view, kScales, plan.layers * 2 * plan.tokens, h.dtype);
    for (float s : scales) {
      if (!(s >= 0) || !std::isfinite(s)) {
        fail("container at byte offset ", file_offset, ": section 'SCAL' holds an invalid scale");
      }
    }
    const std::vector<int64_t> offsets = plan.count_offsets();
    const std::vector<FreqTable> tables =
        profile_ ? build_tables(plan, offsets, profile_counts(plan, offsets), true)
                 : build_tables(plan, offsets, parse_counts(view, plan, offsets), false);
    std::vector<const FreqTable*> table_ptrs;
    for (const FreqTable& t : tables)
      table_ptrs.push_back(&t);

    const std::vector<StreamTask> tasks = stream_tasks(plan);
    ByteReader lengths(view.section_data(kLengths), view.section_size(kLengths),
                       str("container in '", view.source(), "' section 'LENS'"),
                       view.section_file_offset(kLengths));
    std::vector<uint64_t> starts(tasks.size() + 1, 0);
    for (size_t i = 0; i < tasks.size(); ++i) {
      uint64_t n = lengths.varint();
      if (n > view.section_size(kPayload) - starts[i]) {
        lengths.fail_here(str("stream ", i, " of ", n, " bytes runs past the payload"));
      }
      starts[i + 1] = starts[i] + n;
    }
    if (lengths.remaining() != 0 || starts.back() != view.section_size(kPayload)) {
      lengths.fail_here("stream lengths do not add up to the payload size");
    }
    const uint8_t* payload = view.section_data(kPayload);
    const uint64_t payload_offset = view.section_file_offset(kPayload);

    Quantized q;
    for (int p = 0; p < plan.planes; ++p) {
      q.symbols[p].resize(static_cast<size_t>(plan.layers * 2 * plan.plane_rows(p) * c));
    }
    // Streams of equal shape decode in batches: the vector rANS kernel interleaves them.
    std::vector<std::pair<size_t, size_t>> batches;  // [first, last) task
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (batches.empty() || i - batches.back().first == kDecodeBatch ||
          tasks[i].plane != tasks[batches.back().first].plane ||
          tasks[i].channels != tasks[batches.back().first].channels) {
        batches.emplace_back(i, i);
      }
      batches.back().second = i + 1;
    }
    parallel_for(static_cast<int64_t>(batches.size()), threads_, [&](int64_t b) {
      std::vector<RansStream> streams;
      for (size_t i = batches[static_cast<size_t>(b)].first;
           i < batches[static_cast<size_t>(b)].second; ++i) {
        const StreamTask& task = tasks[i];
        uint8_t* sym = q.symbols[task.plane].data() +
                       (task.layer * 2 + task.kind) * plan.plane_rows(task.plane) * c +
                       task.first_channel;
        const FreqTable* const* t = &table_ptrs[static_cast<size_t>(
            plan.table_index(task.plane, task.layer, task.kind, task.first_channel))];
        RansStream stream{payload + starts[i], starts[i + 1] - starts[i],
                          payload_offset + starts[i], t, sym};
        if (coder_ == "ac") {
          arith_decode(stream.data, stream.size, stream.file_offset, plan.plane_rows(task.plane),
                       task.channels, c, t, sym);
        }
        streams.push_back(stream);
      }
      if (coder_ == "rans") {
        const StreamTask& first = tasks[batches[static_cast<size_t>(b)].first];
        rans_decode_batch(streams.data(), static_cast<int>(streams.size()),
                          plan.plane_rows(first.plane), first.channels, c,
                          lanes_for(first.channels));
      }
    });
    return dequantize(q, scales, plan, h.shape, h.dtype);
  }

  KVCache dequantize(const Quantized& q, const std::vector<float>& scales, const Plan& plan,
                     const KVShape& shape, DType dtype) const {
    KVCache kv = KVCache::uninitialized(shape, dtype);  // every element is written below
    const int64_t c = plan.channels;
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      const int64_t layer = lk / 2;
      const int kind = static_cast<int>(lk % 2);
      std::vector<float> x(static_cast<size_t>(c)), anchor(static_cast<size_t>(c)), lut(256);
      std::vector<uint8_t> lut_raw(256 * 4);
      int64_t next_row[2] = {0, 0};
      for (int64_t t = 0; t < plan.tokens; ++t) {
        const int plane = plan.is_anchor(t) ? 1 : 0;
        const int max_level = plan.bins_of(plane, layer, kind) / 2 - 1;
        const int alphabet = plan.alphabet(plane, layer, kind);
        const uint8_t* sym =
            q.symbols[plane].data() + (lk * plan.plane_rows(plane) + next_row[plane]++) * c;
        const float scale = scales[static_cast<size_t>(lk * plan.tokens + t)];
        if (plan.delta && plane == 0) {
          for (int64_t i = 0; i < c; ++i) {
            x[static_cast<size_t>(i)] =
                anchor[static_cast<size_t>(i)] + dequantize_symmetric(sym[i], max_level, scale);
          }
          kv.store_row(layer, kind, t, x.data());
          continue;
        }
        // One value per symbol, converted to dtype once; then each channel is a table lookup.
        for (int s = 0; s < alphabet; ++s)
          lut[static_cast<size_t>(s)] = dequantize_symmetric(s, max_level, scale);
        from_float(dtype, lut.data(), lut_raw.data(), alphabet);
        uint8_t* out = kv.row(layer, kind, t);
        if (dtype == DType::kF32) {
          const auto* table = reinterpret_cast<const uint32_t*>(lut_raw.data());
          auto* dst = reinterpret_cast<uint32_t*>(out);
          for (int64_t i = 0; i < c; ++i)
            dst[i] = table[sym[i]];
        } else {
          const auto* table = reinterpret_cast<const uint16_t*>(lut_raw.data());
          auto* dst = reinterpret_cast<uint16_t*>(out);
          for (int64_t i = 0; i < c; ++i)
            dst[i] = table[sym[i]];
        }
        if (plan.delta) {
          to_float(dtype, out, anchor.data(), c);
        }
      }
    });
    return kv;
  }

  ProbabilityProfile build_profile(const std::vector<KVCache>& samples) const {
    if (samples.empty())
      fail("cachegen profile: needs at least one KV cache");
    ProbabilityProfile profile;
    const KVShape& first = samples[0].shape();
    profile.layers = first.layers;
    profile.channels = first.channels();
    profile.params = defining_params(first.layers);
    for (const KVCache& kv : samples) {
      if (kv.shape().layers != first.layers || kv.shape().channels() != first.channels()) {
        fail("cachegen profile: KV caches of shapes ", first.to_string(), " and ",
             kv.shape().to_string(), " cannot share a profile");
      }
      const Plan plan = make_plan(kv.shape());
      const std::vector<int64_t> offsets = plan.count_offsets();
      std::vector<uint32_t> counts = count_symbols(quantize(kv, plan), plan, offsets);
      if (profile.counts.empty())
        profile.counts.assign(counts.size(), 0);
      for (size_t i = 0; i < counts.size(); ++i)
        profile.counts[i] += counts[i];
    }
    profile.id = ProbabilityProfile::compute_id(profile.params, profile.counts);
    return profile;
  }

 private:
  int threads_;
  int level_ = 2;
  std::vector<int> key_bins_, value_bins_;
  std::string coder_;
  bool delta_ = false;
  int64_t delta_group_ = 10;
  int anchor_bins_ = 256;
  int precision_ = 16;
  int lanes_ = 32;
  int64_t lane_channels_ = 4;
  std::string tables_;
  std::shared_ptr<const ProbabilityProfile> profile_;
};
}  // namespace

std::unique_ptr<Codec> make_cachegen_codec(Options& options, const CodecContext& context) {
  return std::make_unique<CachegenCodec>(options, context);
}

ProbabilityProfile build_cachegen_profile(Options& options, const CodecContext& context,
                                          const std::vector<KVCache>& samples) {
  CachegenCodec codec(options, context);
  options.finish();
  return codec.build_profile(samples);
}

}  // namespace cachegen
