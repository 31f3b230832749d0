#include "cachegen/core/safetensors.h"

#include <nlohmann/json.hpp>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the safetensors spec's limit

size_t element_size_of(const std::string& dtype, const std::string& where) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64")
    return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32")
    return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16")
    return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2")
    return 1;
  fail(where, ": unsupported dtype '", dtype, "'");
}
}  // namespace

SafetensorsFile SafetensorsFile::load(const std::string& path) {
  return parse(read_file(path), path);
}

SafetensorsFile SafetensorsFile::parse(const std::vector<uint8_t>& bytes, const std::string& path) {
  ByteReader reader(bytes.data(), bytes.size(), str("safetensors file '", path, "'"));
  uint64_t header_size = reader.u64();
  if (header_size > kMaxHeaderBytes || header_size > reader.remaining()) {
    reader.fail_here(str("header length ", header_size, " exceeds the file (", bytes.size(),
                         " bytes) or the 100 MiB limit"));
  }
  const char* header_text = reinterpret_cast<const char*>(reader.take(header_size));
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = bytes.size() - data_start;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text, header_text + header_size);
  } catch (const nlohmann::json::exception& e) {
    fail("safetensors file '", path, "': header is not valid JSON: ", e.what());
  }
  if (!header.is_object())
    fail("safetensors file '", path, "': header is not a JSON object");

  SafetensorsFile file;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    std::string where = str("safetensors file '", path, "', tensor '", name, "'");
    if (name == "__metadata__") {
      if (!it->is_object())
        fail("safetensors file '", path, "': __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          fail("safetensors file '", path, "': metadata key '", m.key(), "' is not a string");
        }
        file.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const nlohmann::json& entry = *it;
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() ||
        !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      fail(where, ": needs string 'dtype', array 'shape' and two 'data_offsets'");
    }
    SafetensorsTensor tensor;
    tensor.dtype = entry["dtype"].get<std::string>();
    uint64_t elements = 1;
    for (const auto& dim : entry["shape"]) {
      if (!dim.is_number_unsigned())
        fail(where, ": shape entries must be non-negative integers");
      uint64_t d = dim.get<uint64_t>();
      if (d != 0 && elements > (uint64_t{1} << 48) / d)
        fail(where, ": shape is too large");
      elements *= d;
      tensor.shape.push_back(static_cast<int64_t>(d));
    }
    if (!entry["data_offsets"][0].is_number_unsigned() ||
        !entry["data_offsets"][1].is_number_unsigned()) {
      fail(where, ": data_offsets must be non-negative integers");
    }
    uint64_t begin = entry["data_offsets"][0].get<uint64_t>();
    uint64_t end = entry["data_offsets"][1].get<uint64_t>();
    uint64_t expected = elements * element_size_of(tensor.dtype, where);
    if (begin > end || end > data_size) {
      fail(where, ": data_offsets [", begin, ", ", end, ") fall outside the ", data_size,
           "-byte data section (file truncated?)");
    }
    if (end - begin != expected) {
      fail(where, ": data_offsets span ", end - begin, " bytes but dtype ", tensor.dtype,
           " and shape need ", expected);
    }
    const uint8_t* p = bytes.data() + data_start + begin;
    tensor.data.assign(p, p + (end - begin));
    file.tensors.emplace(name, std::move(tensor));
  }
  return file;
}

std::vector<uint8_t> SafetensorsFile::serialize() const {
  nlohmann::ordered_json header;
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& m : metadata)
      meta[m.first] = m.second;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& entry : tensors) {
    nlohmann::ordered_json t;
    t["dtype"] = entry.second.dtype;
    t["shape"] = entry.second.shape;
    t["data_offsets"] = {offset, offset + entry.second.data.size()};
    offset += entry.second.data.size();
    header[entry.first] = t;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0)
    text.push_back(' ');  // align data to 8 bytes
  ByteWriter writer;
  writer.u64(text.size());
  writer.bytes(text.data(), text.size());
  for (const auto& entry : tensors)
    writer.bytes(entry.second.data.data(), entry.second.data.size());
  return std::move(writer.buffer());
}

void SafetensorsFile::save(const std::string& path) const {
  write_file_atomic(path, serialize());
}

}  // namespace cachegen
