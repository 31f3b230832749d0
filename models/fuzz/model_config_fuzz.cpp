// libFuzzer target: config.json. Whatever parses must write itself out (to_json) as a file that
// parses to the same configuration, with every shape in range; anything else must be a
// cachegen::Error naming the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/models/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  cachegen::ModelConfig config;
  try {
    config = cachegen::ModelConfig::parse(text, "fuzz.json");
  } catch (const cachegen::Error& e) {
    if (std::string(e.what()).find("fuzz.json") == std::string::npos)
      __builtin_trap();  // every error names the file
    return 0;
  }
  if (config.head_dim <= 0 || config.head_dim % 2 != 0 ||
      config.num_attention_heads % config.num_key_value_heads != 0 ||
      config.sliding_layers.size() != static_cast<size_t>(config.num_hidden_layers))
    __builtin_trap();
  const std::string written = config.to_json();
  if (cachegen::ModelConfig::parse(written, "written.json").to_json() != written)
    __builtin_trap();  // to_json / parse round trip
  return 0;
}
