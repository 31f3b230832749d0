// libFuzzer target: the tokenizer. The first byte picks the case: even, the input is a
// tokenizer.json to load (then it encodes and decodes a fixed text); odd, the rest is text for
// the built-in model's tokenizer, which must decode its own ids back to the text.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/models/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    static const std::string path =
        "/tmp/cachegen_fuzz_tokenizer_" + std::to_string(getpid()) + ".json";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << rest;
    try {
      cachegen::Tokenizer tokenizer = cachegen::Tokenizer::load(path);
      (void)tokenizer.decode(tokenizer.encode("Hello, world! 12345 \xc3\xa9\xf0\x9f\x98\x80"));
    } catch (const cachegen::Error&) {
    }
  } else {
    static const cachegen::Tokenizer builtin =
        cachegen::Tokenizer::load(CACHEGEN_SOURCE_DIR "/models/builtin/tokenizer.json");
    try {
      if (builtin.decode(builtin.encode(rest)) != rest)
        __builtin_trap();               // byte-level BPE is lossless on the text it accepts
    } catch (const cachegen::Error&) {  // e.g. invalid UTF-8, named by offset
    }
  }
  return 0;
}
