#include "cachegen/core/byte_io.h"

#include <cstdio>
#include <fstream>

namespace cachegen {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the container and safetensors code assume a little-endian host");

void ByteWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    bytes_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  bytes_.push_back(static_cast<uint8_t>(v));
}

void ByteReader::fail_here(const std::string& message) const {
  fail(what_, " at byte offset ", absolute_offset(), ": ", message);
}

const uint8_t* ByteReader::take(size_t size) {
  if (size > remaining()) {
    fail_here(str("needs ", size, " more bytes but only ", remaining(), " remain (truncated?)"));
  }
  const uint8_t* p = data_ + pos_;
  pos_ += size;
  return p;
}

uint64_t ByteReader::varint() {
  uint64_t value = 0;
  size_t start = pos_;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= size_) {
      pos_ = start;
      fail_here("varint runs past the end");
    }
    uint8_t byte = data_[pos_++];
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return value;
  }
  pos_ = start;
  fail_here("varint longer than 10 bytes");
}

std::string ByteReader::text(size_t max_size) {
  uint32_t size = u32();
  if (size > max_size) {
    fail_here(str("string of ", size, " bytes exceeds the limit of ", max_size));
  }
  const uint8_t* p = take(size);
  return std::string(reinterpret_cast<const char*>(p), size);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    fail("cannot open '", path, "' for reading");
  std::streamsize size = in.tellg();
  in.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    fail("cannot read '", path, "'");
  }
  return bytes;
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      fail("cannot open '", tmp, "' for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      fail("cannot write '", tmp, "' (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot rename '", tmp, "' to '", path, "'");
  }
}

}  // namespace cachegen
