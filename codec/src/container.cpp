#include "cachegen/codec/container.h"

#include <cstring>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/checksum.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
constexpr char kMagic[4] = {'C', 'G', 'K', 'V'};
constexpr size_t kSectionEntry = 24;
constexpr size_t kMaxText = 1 << 16;
constexpr uint32_t kMaxSections = 64;
}  // namespace

std::string section_tag_name(uint32_t tag) {
  std::string name(4, ' ');
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    name[static_cast<size_t>(i)] = (c >= 32 && c < 127) ? c : '?';
  }
  return name;
}

void ContainerWriter::add_section(uint32_t tag, std::vector<uint8_t> data) {
  sections_.emplace_back(tag, std::move(data));
}

std::vector<uint8_t> ContainerWriter::finish() const {
  const KVShape& s = header_.shape;
  size_t table_offset =
      kContainerFixedHeader + 4 + header_.codec.size() + 4 + header_.params.size();
  // Sections start at multiples of kSectionAlignment from the container start, and the
  // container's size is a multiple of it too, so sections of back-to-back containers stay
  // aligned for vector loads and GPU copies. Padding is zero and covered by the checksum.
  auto align = [](size_t n) {
    return (n + kSectionAlignment - 1) / kSectionAlignment * kSectionAlignment;
  };
  std::vector<size_t> offsets;
  size_t cursor = align(table_offset + kSectionEntry * sections_.size());
  for (const auto& section : sections_) {
    offsets.push_back(cursor);
    cursor = align(cursor + section.second.size());
  }
  const size_t total = align(cursor + 4);

  ByteWriter w;
  w.buffer().reserve(total);
  w.bytes(kMagic, 4);
  w.u16(header_.version);
  w.u16(static_cast<uint16_t>(kContainerFixedHeader));
  w.u64(total);
  w.u32(static_cast<uint32_t>(s.layers));
  w.u32(static_cast<uint32_t>(s.tokens));
  w.u32(static_cast<uint32_t>(s.kv_heads));
  w.u32(static_cast<uint32_t>(s.head_dim));
  w.u64(static_cast<uint64_t>(header_.token_offset));
  w.u8(static_cast<uint8_t>(header_.dtype));
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(static_cast<uint32_t>(sections_.size()));
  w.u64(static_cast<uint64_t>(header_.context_tokens));
  w.text(header_.codec);
  w.text(header_.params);
  for (size_t i = 0; i < sections_.size(); ++i) {
    w.u32(sections_[i].first);
    w.u32(crc32c(sections_[i].second.data(), sections_[i].second.size()));
    w.u64(offsets[i]);
    w.u64(sections_[i].second.size());
  }
  for (size_t i = 0; i < sections_.size(); ++i) {
    w.buffer().resize(offsets[i], 0);
    w.bytes(sections_[i].second.data(), sections_[i].second.size());
  }
  w.buffer().resize(total - 4, 0);
  w.u32(crc32c(w.buffer().data(), w.size()));
  return std::move(w.buffer());
}

ContainerView ContainerView::parse(const uint8_t* data, size_t available, uint64_t file_offset,
                                   const std::string& source, bool verify_checksum) {
  std::string what = str("container in '", source, "'");
  ByteReader r(data, available, what, file_offset);
  if (available < 4 || std::memcmp(data, kMagic, 4) != 0) {
    r.fail_here("not a CacheGen KV container (magic \"CGKV\" missing)");
  }
  r.take(4);
  uint16_t version = r.u16();
  if (version != kContainerVersion) {
    fail(what, " at byte offset ", file_offset + 4, ": unsupported format version ", version,
         " (this build reads version ", kContainerVersion, ")");
  }
  uint16_t fixed = r.u16();
  if (fixed != kContainerFixedHeader) {
    fail(what, " at byte offset ", file_offset + 6, ": fixed header size ", fixed, ", expected ",
         kContainerFixedHeader);
  }
  uint64_t total = r.u64();
  if (total > available) {
    fail(what, " at byte offset ", file_offset, ": truncated: the container declares ", total,
         " bytes but only ", available, " remain in the file");
  }
  if (total < kContainerFixedHeader + 12) {
    fail(what, " at byte offset ", file_offset + 8, ": declared size ", total, " is too small");
  }
  // Whole-container checksum first: a flipped bit anywhere is caught before any field is trusted.
  uint32_t stored_crc;
  std::memcpy(&stored_crc, data + total - 4, 4);
  bool crc_ok = !verify_checksum || crc32c(data, total - 4) == stored_crc;

  ContainerView view;
  view.data_ = data;
  view.total_size_ = total;
  view.file_offset_ = file_offset;
  view.source_ = source;
  ContainerHeader& h = view.header_;
  h.version = version;
  ByteReader body(data, total - 4, what, file_offset);
  body.take(16);
  h.shape.layers = body.u32();
  h.shape.tokens = body.u32();
  h.shape.kv_heads = body.u32();
  h.shape.head_dim = body.u32();
  h.token_offset = static_cast<int64_t>(body.u64());
  uint8_t dtype = body.u8();
  uint8_t reserved[3] = {body.u8(), body.u8(), body.u8()};
  uint32_t count = body.u32();
  h.context_tokens = static_cast<int64_t>(body.u64());
  if (!crc_ok) {
    // Name the damaged region if the header is still readable enough to locate sections.
    std::string where = "header";
    try {
      body.text(kMaxText);
      body.text(kMaxText);
      for (uint32_t i = 0; i < count && i < kMaxSections; ++i) {
        SectionInfo s{body.u32(), body.u32(), body.u64(), body.u64()};
        if (s.offset <= total - 4 && s.size <= total - 4 - s.offset &&
            crc32c(data + s.offset, s.size) != s.crc) {
          where = str("section '", section_tag_name(s.tag), "' (bytes ", file_offset + s.offset,
                      "..", file_offset + s.offset + s.size, ")");
          break;
        }
      }
    } catch (const Error&) {
    }
    fail(what, " at byte offset ", file_offset, ": checksum mismatch, data corrupted in ", where);
  }
  if (dtype > 2)
    fail(what, " at byte offset ", file_offset + 40, ": unknown dtype code ", int(dtype));
  if (reserved[0] || reserved[1] || reserved[2]) {
    fail(what, " at byte offset ", file_offset + 41, ": reserved bytes are not zero");
  }
  h.dtype = static_cast<DType>(dtype);
  if (h.token_offset < 0 || h.context_tokens < 0 || h.token_offset > h.context_tokens ||
      static_cast<int64_t>(h.shape.tokens) > h.context_tokens - h.token_offset) {
    fail(what, " at byte offset ", file_offset + 32, ": chunk tokens [", h.token_offset, ", +",
         h.shape.tokens, ") do not fit a context of ", h.context_tokens, " tokens");
  }
  if (count > kMaxSections) {
    fail(what, " at byte offset ", file_offset + 44, ": ", count, " sections exceed the limit ",
         kMaxSections);
  }
  h.codec = body.text(kMaxText);
  h.params = body.text(kMaxText);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t entry_offset = body.absolute_offset();
    SectionInfo s{body.u32(), body.u32(), body.u64(), body.u64()};
    if (s.offset > total - 4 || s.size > total - 4 - s.offset) {
      fail(what, " at byte offset ", entry_offset, ": section '", section_tag_name(s.tag), "' [",
           s.offset, ", +", s.size, ") lies outside the container");
    }
    view.sections_.push_back(s);
  }
  return view;
}

const SectionInfo& ContainerView::find(uint32_t tag) const {
  for (const SectionInfo& s : sections_) {
    if (s.tag == tag)
      return s;
  }
  fail("container in '", source_, "' at byte offset ", file_offset_, ": codec '", header_.codec,
       "' needs section '", section_tag_name(tag), "', which is missing");
}

bool ContainerView::has_section(uint32_t tag) const {
  for (const SectionInfo& s : sections_) {
    if (s.tag == tag)
      return true;
  }
  return false;
}
const uint8_t* ContainerView::section_data(uint32_t tag) const {
  return data_ + find(tag).offset;
}
uint64_t ContainerView::section_size(uint32_t tag) const {
  return find(tag).size;
}
uint64_t ContainerView::section_file_offset(uint32_t tag) const {
  return file_offset_ + find(tag).offset;
}

std::vector<ContainerView> parse_container_file(const std::vector<uint8_t>& bytes,
                                                const std::string& source, bool verify_checksum) {
  std::vector<ContainerView> views;
  uint64_t offset = 0;
  while (offset < bytes.size()) {
    views.push_back(ContainerView::parse(bytes.data() + offset, bytes.size() - offset, offset,
                                         source, verify_checksum));
    offset += views.back().total_size();
  }
  if (views.empty())
    fail("'", source, "' is empty: no container found");
  return views;
}

}  // namespace cachegen
