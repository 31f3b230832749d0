#include "cachegen_format.h"

#include <algorithm>
#include <cmath>

#include "cachegen/codec/freq_table.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "codec_common.h"

namespace cachegen {

std::vector<int64_t> CachegenPlan::count_offsets() const {
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

const OptionSchema& cachegen_options() {
  static const OptionSchema schema = {
      integer_option("level", 2, kMinLevel, kMaxLevel,
                     "the reference's quantization level (bins per layer group); 1 is smallest"),
      text_option("key_bins", "", "bins per layer for keys, e.g. 32*10,16*22 (overrides level)"),
      text_option("value_bins", "", "bins per layer for values (overrides level)"),
      choice_option("coder", "rans", {"rans", "ac"},
                    "entropy coder: interleaved rANS, or the reference arithmetic coder"),
      bool_option("delta", false, "the paper's anchor/delta encoding over token groups"),
      integer_option("delta_group", 10, 2, 1 << 16, "tokens per anchor group (delta=on)"),
      integer_option("anchor_bins", 256, 4, 256, "bins of anchor tokens (delta=on)"),
      integer_option("precision", 16, kMinPrecision, kMaxPrecision,
                     "probability table precision in bits"),
      integer_option("lanes", 32, 1, 256, "interleaved coder states per stream"),
      integer_option("lane_channels", 0, 0, 1 << 16,
                     "channels per lane; 0: 4 with rans, 1 with ac"),
      choice_option("tables", "chunk", {"chunk", "profile"},
                    "probability tables shipped per chunk, or from an offline profile"),
      file_option("profile", "offline profile file (cachegen profile); implies tables=profile"),
      text_option("profile_id", "",
                  "the profile's id, written into containers (decode looks it "
                  "up among the given profiles)")};
  return schema;
}

CachegenFormat::CachegenFormat(const Options& options, const CodecContext& context) {
  level_ = static_cast<int>(options.integer("level"));
  std::string key_bins = options.text("key_bins");
  std::string value_bins = options.text("value_bins");
  if (!key_bins.empty())
    key_bins_ = parse_bins(key_bins, "codec 'cachegen' option 'key_bins'");
  if (!value_bins.empty())
    value_bins_ = parse_bins(value_bins, "codec 'cachegen' option 'value_bins'");
  coder_ = options.text("coder");
  delta_ = options.flag("delta");
  delta_group_ = options.integer("delta_group");
  anchor_bins_ = static_cast<int>(options.integer("anchor_bins"));
  precision_ = static_cast<int>(options.integer("precision"));
  lanes_ = static_cast<int>(options.integer("lanes"));
  lane_channels_ = options.integer("lane_channels");
  if (lane_channels_ == 0)
    lane_channels_ = coder_ == "ac" ? 1 : 4;
  tables_ = options.text("tables");
  std::string profile_path = options.text("profile");
  std::string profile_id = options.text("profile_id");
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

std::map<std::string, std::string> CachegenFormat::param_map(int64_t layers) const {
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

std::string CachegenFormat::defining_params(int64_t layers) const {
  std::map<std::string, std::string> p = param_map(layers);
  for (const char* key : {"level", "coder", "lanes", "lane_channels", "tables", "profile_id"})
    p.erase(key);
  return format_options(p);
}

LayerBins CachegenFormat::resolve_bins(int64_t layers) const {
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

CachegenPlan CachegenFormat::make_plan(const KVShape& shape) const {
  CachegenPlan plan;
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

std::vector<CachegenStream> CachegenFormat::streams(const CachegenPlan& plan) const {
  const int64_t width = coder_ == "rans" ? lanes_ * lane_channels_ : lane_channels_;
  std::vector<CachegenStream> out;
  for (int p = 0; p < plan.planes; ++p) {
    if (plan.plane_rows(p) == 0)
      continue;
    for (int64_t l = 0; l < plan.layers; ++l) {
      for (int kind = 0; kind < 2; ++kind) {
        for (int64_t c = 0; c < plan.channels; c += width)
          out.push_back({p, l, kind, c, std::min(width, plan.channels - c)});
      }
    }
  }
  return out;
}

int CachegenFormat::lanes_for(int64_t n) const {
  int lanes = static_cast<int>(std::min<int64_t>(lanes_, n));
  while (n % lanes != 0)
    --lanes;
  return lanes;
}

const std::vector<uint32_t>& CachegenFormat::profile_counts(
    const CachegenPlan& plan, const std::vector<int64_t>& offsets) const {
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

std::vector<uint8_t> CachegenFormat::serialize_counts(const CachegenPlan& plan,
                                                      const std::vector<int64_t>& offsets,
                                                      const std::vector<uint32_t>& counts) const {
  ByteWriter w;
  for (int64_t i = 0; i < plan.table_count(); ++i) {
    if (plan.plane_rows(plan.table_plane(i)) == 0)
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

std::vector<uint32_t> CachegenFormat::parse_counts(const ContainerView& view,
                                                   const CachegenPlan& plan,
                                                   const std::vector<int64_t>& offsets) const {
  std::vector<uint32_t> counts(static_cast<size_t>(offsets.back()), 0);
  ByteReader r(view.section_data(kCachegenTables), view.section_size(kCachegenTables),
               str("container in '", view.source(), "' section 'TABL'"),
               view.section_file_offset(kCachegenTables));
  for (int64_t i = 0; i < plan.table_count(); ++i) {
    uint64_t rows = static_cast<uint64_t>(plan.plane_rows(plan.table_plane(i)));
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
    if (sum != rows)
      r.fail_here(str("table ", i, " counts sum to ", sum, ", expected ", rows));
  }
  if (r.remaining() != 0)
    r.fail_here(str(r.remaining(), " unexpected trailing bytes"));
  return counts;
}

CachegenChunk CachegenFormat::parse(const uint8_t* data, size_t size, uint64_t file_offset) const {
  ContainerView view = ContainerView::parse(data, size, file_offset, "input");
  CachegenChunk chunk;
  chunk.header = view.header();
  const ContainerHeader& h = chunk.header;
  if (h.codec != "cachegen") {
    fail("container at byte offset ", file_offset, " was written by codec '", h.codec,
         "', not 'cachegen'");
  }
  check_shape_limits(view);
  chunk.plan = make_plan(h.shape);
  const CachegenPlan& plan = chunk.plan;
  const std::string expected = format_options(param_map(plan.layers));
  if (h.params != expected) {
    fail("container at byte offset ", file_offset, " has parameters '", h.params,
         "' but the decoder was built with '", expected, "'");
  }
  chunk.scales = decode_values(view, kCachegenScales, plan.layers * 2 * plan.tokens, h.dtype);
  for (float s : chunk.scales) {
    if (!(s >= 0) || !std::isfinite(s))
      fail("container at byte offset ", file_offset, ": section 'SCAL' holds an invalid scale");
  }
  chunk.offsets = plan.count_offsets();
  chunk.all_symbols = profile_ != nullptr;
  if (profile_)
    chunk.profile_counts = &profile_counts(plan, chunk.offsets);
  else
    chunk.chunk_counts = parse_counts(view, plan, chunk.offsets);
  chunk.streams = streams(plan);
  ByteReader lengths(view.section_data(kCachegenLengths), view.section_size(kCachegenLengths),
                     str("container in '", view.source(), "' section 'LENS'"),
                     view.section_file_offset(kCachegenLengths));
  const uint64_t payload_size = view.section_size(kCachegenPayload);
  chunk.starts.assign(chunk.streams.size() + 1, 0);
  for (size_t i = 0; i < chunk.streams.size(); ++i) {
    uint64_t n = lengths.varint();
    if (n > payload_size - chunk.starts[i])
      lengths.fail_here(str("stream ", i, " of ", n, " bytes runs past the payload"));
    chunk.starts[i + 1] = chunk.starts[i] + n;
  }
  if (lengths.remaining() != 0 || chunk.starts.back() != payload_size)
    lengths.fail_here("stream lengths do not add up to the payload size");
  chunk.payload = view.section_data(kCachegenPayload);
  chunk.payload_file_offset = view.section_file_offset(kCachegenPayload);
  return chunk;
}

std::vector<uint8_t> CachegenFormat::assemble(
    const KVShape& shape, DType dtype, const ChunkPosition& position, const CachegenPlan& plan,
    const std::vector<float>& scales, const std::vector<int64_t>& offsets,
    const std::vector<uint32_t>& counts, const std::vector<uint64_t>& stream_bytes,
    std::vector<uint8_t> payload) const {
  const ContainerHeader h =
      make_header("cachegen", format_options(param_map(plan.layers)), shape, dtype, position);
  ByteWriter lengths;
  for (uint64_t n : stream_bytes)
    lengths.varint(n);
  ContainerWriter writer(h);
  writer.add_section(kCachegenScales, encode_values(scales, dtype));
  if (!profile_)
    writer.add_section(kCachegenTables, serialize_counts(plan, offsets, counts));
  writer.add_section(kCachegenLengths, std::move(lengths.buffer()));
  writer.add_section(kCachegenPayload, std::move(payload));
  return writer.finish();
}

}  // namespace cachegen
