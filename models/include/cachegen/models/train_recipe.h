// A training recipe of `cachegen train` (configs/models/*.yaml; every key is documented in
// configs/models/builtin.yaml). Loading needs no libtorch (its fuzz target builds without it):
// unknown keys, wrong types and out-of-range values are errors naming the file, line and key.
#pragma once

#include <cstdint>
#include <string>

#include "cachegen/models/model_config.h"

namespace cachegen {

struct TrainRecipe {
  std::string source;     // the recipe file (errors)
  std::string output;     // checkpoint directory
  std::string tokenizer;  // tokenizer.json (its vocabulary sets the model's)
  std::string corpus;     // training text
  std::string init;       // checkpoint to start from (an earlier stage); empty: random weights
  uint64_t seed = 1;
  ModelConfig model;                // architecture; vocab_size comes from the tokenizer
  double retrieval_fraction = 0.5;  // share of sequences that are retrieval episodes
  // Share of sequences that are a random token string and its repeat (copy training), and
  // the longest such string (lengths uniform in [8, copy_tokens]); the rest are text.
  double copy_fraction = 0;
  int64_t copy_tokens = 256;
  // Share of sequences that are LongEval "lines" cases read from longeval_path (the JSONL of
  // scripts/make_longeval.py --train: the official generator's prompts), each answered in the
  // form " The REGISTER_CONTENT is <N>", then asked about more of its lines. Cases longer than
  // the curriculum's longest record are not drawn.
  double longeval_fraction = 0;
  std::string longeval_path;
  int64_t min_episode_tokens = 128;  // episode context lengths, uniform in [min, max]
  int64_t max_episode_tokens = 2048;
  int64_t questions_per_episode = 8;  // answered questions after each record
  // Curriculum: the longest episode grows from curriculum_start_tokens (default: no
  // curriculum) to max_episode_tokens over the first curriculum_steps steps.
  int64_t curriculum_start_tokens = 2048;
  int64_t curriculum_steps = 0;
  int64_t steps = 1000;
  int64_t batch_size = 8;       // sequences per optimizer step
  int64_t seq_len = 1024;       // tokens per text sequence
  double learning_rate = 1e-3;  // peak; linear warmup, cosine decay to 10%
  int64_t warmup_steps = 100;
  double weight_decay = 0.1;
  double max_minutes = 0;  // stop (and save) after this long; 0 = no limit
  int64_t log_every = 10;
  int64_t save_every = 100;
  int threads = 0;
  std::string device = "cpu";  // "cpu" or "cuda" (a CUDA build of libtorch and a GPU)

  static TrainRecipe load(const std::string& path);
};

}  // namespace cachegen
