// Little-endian byte writing and bounds-checked reading. The reader knows the absolute offset of
// its buffer in the enclosing file, so every error names the byte offset at fault.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

class ByteWriter {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { put(&v, sizeof(v)); }
  void u32(uint32_t v) { put(&v, sizeof(v)); }
  void u64(uint64_t v) { put(&v, sizeof(v)); }
  void varint(uint64_t v);  // LEB128
  void bytes(const void* data, size_t size) { put(data, size); }
  void text(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  std::vector<uint8_t>& buffer() { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  void put(const void* data, size_t size) {  // host is little-endian (checked in byte_io.cpp)
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + size);
  }
  std::vector<uint8_t> bytes_;
};

class ByteReader {
 public:
  // `what` names the buffer in errors ("container section 'tables'"); base_offset is the
  // absolute file offset of data[0].
  ByteReader(const uint8_t* data, size_t size, std::string what, uint64_t base_offset = 0)
      : data_(data), size_(size), what_(std::move(what)), base_(base_offset) {}

  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  uint64_t varint();
  std::string text(size_t max_size);
  const uint8_t* take(size_t size);  // returns a pointer to the next `size` bytes

  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  uint64_t absolute_offset() const { return base_ + pos_; }
  const std::string& what() const { return what_; }
  [[noreturn]] void fail_here(const std::string& message) const;

 private:
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  const uint8_t* data_;
  size_t size_;
  std::string what_;
  uint64_t base_;
  size_t pos_ = 0;
};

std::vector<uint8_t> read_file(const std::string& path);
// Writes to path.tmp then renames, so a crash never leaves a half-written file at path.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace cachegen
