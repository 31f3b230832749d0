// The codec report: for each codec configuration, bytes on the wire (every byte of metadata
// included), reconstruction error and encode/decode throughput on one KV cache.
#pragma once

#include <string>
#include <vector>

#include "cachegen/codec/registry.h"

namespace cachegen {

struct CodecConfig {
  std::string codec;
  std::string level;   // "-" for codecs without levels
  std::string params;  // "key=value;..." as given to the codec
};

struct CodecReportRow {
  CodecConfig config;
  uint64_t bytes = 0;
  int64_t elements = 0;
  double bits_per_element = 0;
  double coding_efficiency = 0;     // payload bits / model bits; 0 when not entropy-coded
  double payload_vs_empirical = 0;  // payload bits / empirical (histogram) entropy bits
  double rel_l2_k = 0, rel_l2_v = 0, max_abs_k = 0, max_abs_v = 0;
  double encode_seconds = 0, decode_seconds = 0;  // best of the repeats
  double encode_gbps = 0, decode_gbps = 0;        // GB/s of fp16 KV (2 bytes per element)
};

// The configurations the report runs by default: identity, quant 8/4/3/2 (per token, and in
// blocks of 32), kivi 2/4, cachegen levels 1-3 (rANS), level 2 at 12- and 10-bit probabilities,
// with the arithmetic coder, with anchor/delta, and with an offline profile (built from
// `profile_path`).
std::vector<CodecConfig> default_report_configs(const std::string& profile_path);

CodecReportRow measure_codec(const CodecConfig& config, const KVCache& kv, int64_t chunk_tokens,
                             const CodecContext& context, int repeats);

}  // namespace cachegen
