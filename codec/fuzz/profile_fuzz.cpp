// libFuzzer target: the offline probability profile reader (`cachegen profile` files, which
// `tables=profile` decoding loads). Malformed input must raise cachegen::Error, nothing else.
// Seeds: codec/fuzz/corpus/profile/.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cachegen/codec/profile.h"
#include "cachegen/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cachegen::ProbabilityProfile::parse(std::vector<uint8_t>(data, data + size), "fuzz");
  } catch (const cachegen::Error&) {
  }
  return 0;
}
