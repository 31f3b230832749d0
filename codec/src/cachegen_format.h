// The cachegen codec's parameters and container layout, shared by the CPU codec
// (cachegen_codec.cpp) and the GPU codec (codec/cuda): what the bytes mean, not how they are
// computed. Private to the codec module (codec/cuda includes it from codec/src).
//
// Sections: 'SCAL' scales [L, 2, T] in the input dtype; 'TABL' counts (tables=chunk) as varints:
// per (plane, layer, kind, channel) the lowest used symbol, the span, then each count;
// 'LENS' varint byte length of each stream; 'PAYL' the streams back to back.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/codec/container.h"
#include "cachegen/codec/level_table.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/codec.h"

namespace cachegen {

constexpr uint32_t kCachegenScales = section_tag("SCAL");
constexpr uint32_t kCachegenTables = section_tag("TABL");
constexpr uint32_t kCachegenLengths = section_tag("LENS");
constexpr uint32_t kCachegenPayload = section_tag("PAYL");

// Everything derived from the parameters and the chunk's shape. Symbols fall in "planes": plane
// 0 holds all tokens (delta=off) or the non-anchor tokens; plane 1 holds the anchors (every
// `delta_group`-th token, from token 0).
struct CachegenPlan {
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
  int table_plane(int64_t table) const { return static_cast<int>(table / (layers * 2 * channels)); }
  // Offsets of each table's counts in one flat array (alphabets differ per layer):
  // table_count() + 1 entries.
  std::vector<int64_t> count_offsets() const;
};

// One independent entropy-coded stream: a block of channels of one (plane, layer, kind), over
// all of the plane's rows.
struct CachegenStream {
  int plane;
  int64_t layer;
  int kind;
  int64_t first_channel;
  int64_t channels;
};

// A container's contents, checked against the format (decode side).
struct CachegenChunk {
  ContainerHeader header;
  CachegenPlan plan;
  std::vector<float> scales;           // [L, 2, T]
  std::vector<int64_t> offsets;        // CachegenPlan::count_offsets()
  std::vector<uint32_t> chunk_counts;  // per table, from 'TABL' (none with a profile)
  const std::vector<uint32_t>* profile_counts = nullptr;  // the profile's, not copied
  const std::vector<uint32_t>& counts() const {
    return profile_counts ? *profile_counts : chunk_counts;
  }
  bool all_symbols = false;  // tables built with every symbol coded (profile tables)
  std::vector<CachegenStream> streams;
  std::vector<uint64_t> starts;  // streams + 1 byte offsets into the payload
  const uint8_t* payload = nullptr;
  uint64_t payload_file_offset = 0;
};

// The cachegen codec's options, declared once for the CPU codec, `cachegen profile` and the GPU
// codec (which takes the same options).
const OptionSchema& cachegen_options();

class CachegenFormat {
 public:
  // Reads the codec's options (cachegen_options(), already validated).
  CachegenFormat(const Options& options, const CodecContext& context);

  // Every parameter with the per-layer bins resolved for `layers` (what containers store);
  // layers < 0 leaves bins as given.
  std::map<std::string, std::string> param_map(int64_t layers) const;
  // The parameters that define the symbol alphabets: a profile must agree on them.
  std::string defining_params(int64_t layers) const;
  LayerBins resolve_bins(int64_t layers) const;
  CachegenPlan make_plan(const KVShape& shape) const;
  std::vector<CachegenStream> streams(const CachegenPlan& plan) const;
  // rANS lanes of a stream of n channels: the largest divisor of n not above `lanes`.
  int lanes_for(int64_t n) const;

  const std::string& coder() const { return coder_; }
  int precision() const { return precision_; }
  const ProbabilityProfile* profile() const { return profile_.get(); }
  // The profile's counts, after checking it fits this plan.
  const std::vector<uint32_t>& profile_counts(const CachegenPlan& plan,
                                              const std::vector<int64_t>& offsets) const;

  std::vector<uint8_t> serialize_counts(const CachegenPlan& plan,
                                        const std::vector<int64_t>& offsets,
                                        const std::vector<uint32_t>& counts) const;
  std::vector<uint32_t> parse_counts(const ContainerView& view, const CachegenPlan& plan,
                                     const std::vector<int64_t>& offsets) const;

  // Parses and checks a container (header, parameters, scales, tables, stream lengths).
  CachegenChunk parse(const uint8_t* data, size_t size, uint64_t file_offset) const;
  // The container of one chunk. scales [L, 2, T] (already exact in dtype); counts per table;
  // `stream_bytes` per stream of streams(plan), in order; payload: the streams back to back.
  std::vector<uint8_t> assemble(const KVShape& shape, DType dtype, const ChunkPosition& position,
                                const CachegenPlan& plan, const std::vector<float>& scales,
                                const std::vector<int64_t>& offsets,
                                const std::vector<uint32_t>& counts,
                                const std::vector<uint64_t>& stream_bytes,
                                std::vector<uint8_t> payload) const;

 private:
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

}  // namespace cachegen
