// identity: the uncompressed baseline. Stores the values raw in the input dtype, or converted to
// f16/bf16 (lossy from f32).
#include "cachegen/core/codec.h"
#include "codec_common.h"

namespace cachegen {

namespace {
constexpr uint32_t kRaw = section_tag("RAW_");

class IdentityCodec : public Codec {
 public:
  explicit IdentityCodec(const Options& options) : storage_(options.text("dtype")) {}

  std::string name() const override { return "identity"; }
  std::string params() const override { return "dtype=" + storage_; }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats*) const override {
    kv.check_finite("identity encode");
    ContainerWriter writer(make_header(*this, params(), kv, position));
    DType stored = storage_dtype(kv.dtype());
    if (stored == kv.dtype()) {
      writer.add_section(kRaw, std::vector<uint8_t>(kv.data(), kv.data() + kv.byte_size()));
    } else {
      KVCache converted = kv.converted(stored);
      writer.add_section(
          kRaw, std::vector<uint8_t>(converted.data(), converted.data() + converted.byte_size()));
    }
    return writer.finish();
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    ContainerView view = open_container(*this, params(), data, size, file_offset);
    const ContainerHeader& h = view.header();
    DType stored = storage_dtype(h.dtype);
    KVCache raw(h.shape, stored);
    if (view.section_size(kRaw) != raw.byte_size()) {
      fail("container at byte offset ", file_offset, ": section 'RAW_' holds ",
           view.section_size(kRaw), " bytes, expected ", raw.byte_size());
    }
    std::memcpy(raw.data(), view.section_data(kRaw), raw.byte_size());
    return stored == h.dtype ? raw : raw.converted(h.dtype);
  }

 private:
  DType storage_dtype(DType input) const {
    return storage_ == "input" ? input : parse_dtype(storage_);
  }
  std::string storage_;
};
}  // namespace

CACHEGEN_REGISTER(codec_registry(),
                  {"identity",
                   "raw values in the input dtype (or f16/bf16)",
                   {choice_option("dtype", "input", {"input", "f16", "bf16"},
                                  "storage type; input keeps the KV's own")}},
                  [](const Options& options, const CodecContext&) {
                    return std::make_unique<IdentityCodec>(options);
                  });

}  // namespace cachegen
