// libFuzzer target: the hardware profile loader (configs/hardware/*.yaml: YAML, required keys,
// ranges, the derived cost model's validation). Malformed input must raise cachegen::Error.
// Seeds: experiments/fuzz/corpus/hardware_profile/ (the shipped profiles).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/experiments/hardware_profile_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/cachegen_fuzz_hardware_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    cachegen::load_hardware_profile(path);
  } catch (const cachegen::Error&) {
  }
  return 0;
}
