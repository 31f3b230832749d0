// libFuzzer target: the container reader and every codec's decoder (decode_file reads the
// header, picks the codec named there, checks CRCs and decodes). Malformed input must raise
// cachegen::Error, nothing else. Seeds: codec/fuzz/corpus/container/ (one file per codec).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cachegen::CodecContext context;
  context.threads = 1;
  try {
    cachegen::decode_file(std::vector<uint8_t>(data, data + size), "fuzz", context);
  } catch (const cachegen::Error&) {
  }
  return 0;
}
