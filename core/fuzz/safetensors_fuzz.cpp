// libFuzzer target: the safetensors reader (header JSON, offsets, dtypes) and the KV layouts
// read from it. Malformed input must raise cachegen::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cachegen/core/error.h"
#include "cachegen/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cachegen::SafetensorsFile file =
        cachegen::SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "fuzz");
    // What parses must serialise and parse back to the same tensors.
    std::vector<uint8_t> again = file.serialize();
    cachegen::SafetensorsFile back = cachegen::SafetensorsFile::parse(again, "fuzz-again");
    if (back.tensors.size() != file.tensors.size())
      __builtin_trap();
  } catch (const cachegen::Error&) {
  }
  return 0;
}
