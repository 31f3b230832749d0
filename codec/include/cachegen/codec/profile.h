// Offline probability profiles (the paper's design): symbol counts per (plane, layer, kind,
// channel) gathered once from sample KV caches of a model, stored in a file, and named by id in
// every chunk that uses them, so chunks carry no tables. The file is a CGKV container with codec
// name "cachegen-profile", the defining parameters, and one section 'CNTS' of varint counts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/codec.h"
#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct ProbabilityProfile {
  std::string params;  // the codec parameters that define the symbol alphabets (must match)
  int64_t layers = 0;
  int64_t channels = 0;
  std::vector<uint32_t> counts;  // in the codec's table order (see cachegen_codec.cpp)
  std::string id;                // 8 hex digits: crc32c of params and counts

  std::vector<uint8_t> serialize() const;
  static ProbabilityProfile parse(const std::vector<uint8_t>& bytes, const std::string& source);
  static std::shared_ptr<const ProbabilityProfile> load(const std::string& path);
  static std::string compute_id(const std::string& params, const std::vector<uint32_t>& counts);
};

// Builds an offline probability profile for the cachegen codec configured by `options` (checked
// against its schema) from sample KV caches (all with the same layers and channels).
ProbabilityProfile build_cachegen_profile(const Options& options, const CodecContext& context,
                                          const std::vector<KVCache>& samples);

}  // namespace cachegen
