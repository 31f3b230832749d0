// libFuzzer target: the GPU decode-rate reader (the CUDA codec's benchmark table that hardware
// profiles name with gpu.decode_rates: the context line, the header, each row's codec spec made
// into a codec). Malformed input must raise cachegen::Error; what loads must make a valid
// profile. Seeds: experiments/fuzz/corpus/gpu_decode_rates/ (the committed benchmark outputs).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/experiments/gpu_decode_rates.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/cachegen_fuzz_rates_" + std::to_string(getpid()) + ".md";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    cachegen::HardwareProfile profile;
    profile.name = "fuzz";
    profile.decode_bytes_per_s = 1e9;
    profile.codec_decode = cachegen::read_gpu_decode_rates(path);
    profile.validate();  // a table that loads gives finite, positive costs
  } catch (const cachegen::Error&) {
    // validate() throwing on a loaded table would be a bug: the reader must refuse it first.
    try {
      cachegen::read_gpu_decode_rates(path);
    } catch (const cachegen::Error&) {
      return 0;
    }
    std::abort();
  }
  return 0;
}
