// The binary container for one encoded KV chunk (format version 1). All integers little-endian.
//
//   offset  size  field
//   0       4     magic "CGKV"
//   4       2     format version (1)
//   6       2     fixed header size (56)
//   8       8     total container size in bytes, trailer included
//   16      4x4   layers, tokens, kv_heads, head_dim (u32 each)
//   32      8     token offset of the chunk in its context
//   40      1     dtype (0 f32, 1 f16, 2 bf16)
//   41      3     reserved, zero
//   44      4     section count N
//   48      8     tokens in the whole context (so a file missing its last chunks is detected)
//   56      4+n   codec name (u32 length + bytes)
//   ..      4+n   codec parameters, canonical "key=value;..." (u32 length + bytes)
//   ..      24*N  section table: tag (u32), crc32c (u32), offset from container start (u64), size
//   (u64)
//   ..            section data, each at a multiple of 64 bytes from the container start
//   end-4   4     crc32c of every byte before it (the container's size is a multiple of 64)
//
// A file holds one or more containers back to back (one per chunk). A reader rejects anything it
// does not understand with an Error naming the byte offset.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cachegen/core/kv_cache.h"

namespace cachegen {

constexpr uint16_t kContainerVersion = 1;
constexpr size_t kContainerFixedHeader = 56;
constexpr size_t kSectionAlignment = 64;

// Section tags: four ASCII characters packed little-endian.
constexpr uint32_t section_tag(const char (&name)[5]) {
  return static_cast<uint32_t>(name[0]) | static_cast<uint32_t>(name[1]) << 8 |
         static_cast<uint32_t>(name[2]) << 16 | static_cast<uint32_t>(name[3]) << 24;
}
std::string section_tag_name(uint32_t tag);

struct ContainerHeader {
  uint16_t version = kContainerVersion;
  std::string codec;
  std::string params;
  KVShape shape;
  DType dtype = DType::kF16;
  int64_t token_offset = 0;
  int64_t context_tokens = 0;  // token_offset + tokens <= context_tokens
};

struct SectionInfo {
  uint32_t tag = 0;
  uint32_t crc = 0;
  uint64_t offset = 0;  // from the container start
  uint64_t size = 0;
};

class ContainerWriter {
 public:
  explicit ContainerWriter(ContainerHeader header) : header_(std::move(header)) {}
  void add_section(uint32_t tag, std::vector<uint8_t> data);
  std::vector<uint8_t> finish() const;

 private:
  ContainerHeader header_;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> sections_;
};

// A validated view of one container inside a larger buffer. Checks magic, version, size,
// every checksum and every section's bounds before anything reads the payload.
class ContainerView {
 public:
  // Parses the container starting at data[0]; `available` bytes are readable; `file_offset` is
  // the absolute offset of data[0] (for messages); `source` names the file.
  // verify_checksum = false only peeks at the header (to route a container to its codec, which
  // then parses it again with verification).
  static ContainerView parse(const uint8_t* data, size_t available, uint64_t file_offset,
                             const std::string& source, bool verify_checksum = true);

  const ContainerHeader& header() const { return header_; }
  uint64_t total_size() const { return total_size_; }
  uint64_t file_offset() const { return file_offset_; }
  const std::vector<SectionInfo>& sections() const { return sections_; }
  bool has_section(uint32_t tag) const;
  // Bytes of a section; throws naming the missing tag.
  const uint8_t* section_data(uint32_t tag) const;
  uint64_t section_size(uint32_t tag) const;
  uint64_t section_file_offset(uint32_t tag) const;
  const uint8_t* data() const { return data_; }
  const std::string& source() const { return source_; }

 private:
  const SectionInfo& find(uint32_t tag) const;
  const uint8_t* data_ = nullptr;
  uint64_t total_size_ = 0;
  uint64_t file_offset_ = 0;
  std::string source_;
  ContainerHeader header_;
  std::vector<SectionInfo> sections_;
};

// Splits a file of back-to-back containers; validates each.
std::vector<ContainerView> parse_container_file(const std::vector<uint8_t>& bytes,
                                                const std::string& source,
                                                bool verify_checksum = true);

}  // namespace cachegen
