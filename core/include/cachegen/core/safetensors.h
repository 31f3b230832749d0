// Safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then data.
// Used for KV caches here and for model weights by models/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cachegen/core/dtype.h"

namespace cachegen {

struct SafetensorsTensor {
  std::string dtype;  // safetensors name: "F32", "F16", "BF16", "I32", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

struct SafetensorsFile {
  std::map<std::string, SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;

  // Throws naming the file and the tensor or header key at fault.
  static SafetensorsFile load(const std::string& path);
  static SafetensorsFile parse(const std::vector<uint8_t>& bytes, const std::string& path);
  std::vector<uint8_t> serialize() const;
  void save(const std::string& path) const;  // atomic
};

}  // namespace cachegen
