// SHA-256 (FIPS 180-4), for the provenance of results: which model weights, tokenizer, dataset
// and trace files a run read. Not on any hot path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cachegen {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t size);
  // The digest as 64 lowercase hex digits; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);  // one 64-byte block
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const uint8_t* data, size_t size);
// The file's SHA-256, read in 1 MiB pieces; throws naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace cachegen
