// `cachegen train`: trains a small Llama- or Qwen2-architecture decoder from a YAML recipe
// (configs/models/*.yaml) on a text corpus mixed with line-retrieval records and copy strings
// (models/src/training_data.h), on libtorch (CPU or CUDA), and writes a Hugging Face
// checkpoint. Every key of the recipe is documented in configs/models/builtin.yaml; unknown
// keys are errors naming the file and line.
#pragma once

#include <ostream>

#include "cachegen/models/train_recipe.h"

namespace cachegen {

// Trains, logging one line per log_every steps to `log`, saving the checkpoint every
// save_every steps and at the end (atomically: a killed run leaves the last good one).
void train_model(const TrainRecipe& recipe, std::ostream& log);

}  // namespace cachegen
