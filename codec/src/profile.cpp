#include "cachegen/codec/profile.h"

#include <cstdio>

#include "cachegen/codec/container.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/checksum.h"

namespace cachegen {

namespace {
constexpr uint32_t kCounts = section_tag("CNTS");
constexpr char kProfileCodec[] = "cachegen-profile";
}  // namespace

std::string ProbabilityProfile::compute_id(const std::string& params,
                                           const std::vector<uint32_t>& counts) {
  uint32_t crc = crc32c(reinterpret_cast<const uint8_t*>(params.data()), params.size());
  crc = crc32c(reinterpret_cast<const uint8_t*>(counts.data()), counts.size() * 4, crc);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc);
  return hex;
}

std::vector<uint8_t> ProbabilityProfile::serialize() const {
  ContainerHeader h;
  h.codec = kProfileCodec;
  h.params = params;
  h.shape = KVShape{layers, 0, 1, channels};
  ByteWriter w;
  for (uint32_t c : counts)
    w.varint(c);
  ContainerWriter writer(h);
  writer.add_section(kCounts, std::move(w.buffer()));
  return writer.finish();
}

ProbabilityProfile ProbabilityProfile::parse(const std::vector<uint8_t>& bytes,
                                             const std::string& source) {
  ContainerView view = ContainerView::parse(bytes.data(), bytes.size(), 0, source);
  if (view.header().codec != kProfileCodec) {
    fail("'", source, "' is not a probability profile (codec '", view.header().codec, "')");
  }
  ProbabilityProfile p;
  p.params = view.header().params;
  p.layers = view.header().shape.layers;
  p.channels = view.header().shape.head_dim;
  ByteReader r(view.section_data(kCounts), view.section_size(kCounts),
               str("profile '", source, "' section 'CNTS'"), view.section_file_offset(kCounts));
  while (r.remaining() > 0) {
    uint64_t c = r.varint();
    if (c > 0xffffffffu)
      r.fail_here("count exceeds 32 bits");
    p.counts.push_back(static_cast<uint32_t>(c));
  }
  p.id = compute_id(p.params, p.counts);
  return p;
}

std::shared_ptr<const ProbabilityProfile> ProbabilityProfile::load(const std::string& path) {
  return std::make_shared<const ProbabilityProfile>(parse(read_file(path), path));
}

}  // namespace cachegen
