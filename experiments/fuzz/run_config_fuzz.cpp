// libFuzzer target: the sweep config loader (YAML, keys, types, ranges, plug-in names, the
// sweep's product). Malformed input must raise cachegen::Error (YAML errors included).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/experiments/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/cachegen_fuzz_config_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    cachegen::load_run_config(path);
  } catch (const cachegen::Error&) {
  }
  return 0;
}
