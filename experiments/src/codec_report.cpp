#include "cachegen/experiments/codec_report.h"

#include <algorithm>
#include <cmath>

#include "cachegen/core/timer.h"

namespace cachegen {

std::vector<CodecConfig> default_report_configs(const std::string& profile_path) {
  std::vector<CodecConfig> configs = {{"identity", "-", ""}};
  for (int bits : {8, 4, 3, 2})
    configs.push_back({"quant", "-", str("bits=", bits)});
  for (int bits : {8, 4})
    configs.push_back({"quant", "-", str("bits=", bits, ";group=32")});
  for (int bits : {2, 4})
    configs.push_back({"kivi", "-", str("bits=", bits)});
  for (int level = 1; level <= 3; ++level)
    configs.push_back({"cachegen", str(level), "coder=rans"});
  // What lower probability precision costs (the reference uses 16 bits).
  for (int precision : {12, 10}) {
    configs.push_back({"cachegen", "2", str("coder=rans;precision=", precision)});
  }
  configs.push_back({"cachegen", "2", "coder=ac"});
  configs.push_back({"cachegen", "2", "coder=rans;delta=on"});
  if (!profile_path.empty()) {
    configs.push_back({"cachegen", "2", "coder=rans;profile=" + profile_path});
  }
  return configs;
}

namespace {
// Relative L2 and max absolute error of `b` against `a` for one kind.
void errors(const KVCache& a, const KVCache& b, int kind, double& rel_l2, double& max_abs) {
  const KVShape& s = a.shape();
  std::vector<float> x(static_cast<size_t>(s.channels())), y(x.size());
  double num = 0, den = 0;
  max_abs = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    for (int64_t t = 0; t < s.tokens; ++t) {
      a.load_row(l, kind, t, x.data());
      b.load_row(l, kind, t, y.data());
      for (size_t c = 0; c < x.size(); ++c) {
        double d = static_cast<double>(x[c]) - y[c];
        num += d * d;
        den += static_cast<double>(x[c]) * x[c];
        max_abs = std::max(max_abs, std::fabs(d));
      }
    }
  }
  rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
}  // namespace

CodecReportRow measure_codec(const CodecConfig& config, const KVCache& kv, int64_t chunk_tokens,
                             const CodecContext& context, int repeats) {
  Options options = Options::parse(config.params, "codec report");
  if (config.level != "-")
    options.set("level", config.level);
  auto codec = make_codec(config.codec, options, context);
  CodecReportRow row;
  row.config = config;
  row.elements = kv.shape().elements();
  std::vector<uint8_t> bytes;
  KVCache decoded;
  row.encode_seconds = row.decode_seconds = INFINITY;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    EncodeStats stats;
    Stopwatch encode_timer;
    bytes = encode_chunks(*codec, kv, chunk_tokens, &stats);
    row.encode_seconds = std::min(row.encode_seconds, encode_timer.seconds());
    Stopwatch decode_timer;
    decoded = decode_file(bytes, "codec report", context);
    row.decode_seconds = std::min(row.decode_seconds, decode_timer.seconds());
    if (stats.model_bits > 0) {
      row.coding_efficiency = stats.payload_bits / stats.model_bits;
      row.payload_vs_empirical = stats.payload_bits / stats.empirical_bits;
    }
  }
  row.bytes = bytes.size();
  row.bits_per_element = 8.0 * static_cast<double>(row.bytes) / static_cast<double>(row.elements);
  errors(kv, decoded, kKey, row.rel_l2_k, row.max_abs_k);
  errors(kv, decoded, kValue, row.rel_l2_v, row.max_abs_v);
  const double fp16_bytes = 2.0 * static_cast<double>(row.elements);
  row.encode_gbps = fp16_bytes / row.encode_seconds / 1e9;
  row.decode_gbps = fp16_bytes / row.decode_seconds / 1e9;
  return row;
}

}  // namespace cachegen
