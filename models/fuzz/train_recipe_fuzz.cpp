// libFuzzer target: the training recipe loader (`cachegen train RECIPE.yaml`: YAML, required
// keys, types, ranges, the model's shape). Malformed input must raise cachegen::Error.
// Seeds: models/fuzz/corpus/train_recipe/ (the shipped recipes).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/models/train_recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/cachegen_fuzz_recipe_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const cachegen::TrainRecipe recipe = cachegen::TrainRecipe::load(path);
    // What loads is a trainable shape.
    if (recipe.model.head_dim * recipe.model.num_attention_heads != recipe.model.hidden_size ||
        recipe.model.head_dim % 2 != 0 || recipe.log_every < 1 || recipe.save_every < 1)
      __builtin_trap();
  } catch (const cachegen::Error&) {
  }
  return 0;
}
