// The trainer and the line-retrieval episodes, on a tiny model and corpus (seconds).
#include "cachegen/models/trainer.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cachegen/core/error.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/tokenizer.h"

namespace cachegen {
namespace {

// A byte-level tokenizer from make_tokenizers.py, once per process.
const std::string& tokenizer_path() {
  static const std::string path = [] {
    std::string out = ::testing::TempDir() + "/trainer_tok_" + std::to_string(getpid());
    std::string command = std::string(CACHEGEN_PYTHON) + " " + CACHEGEN_MAKE_TOKENIZERS + " " +
                          out + " > /dev/null 2>&1";
    return std::system(command.c_str()) == 0 ? out + "/llama3.json" : std::string();
  }();
  return path;
}

std::string write_recipe(const std::string& dir, const std::string& extra,
                         const std::string& learning_rate = "0.01") {
  std::ofstream(dir + "/corpus.txt") << [] {
    std::string text;
    for (int i = 0; i < 200; ++i)
      text += "In the beginning God created the heaven and the earth.\n";
    return text;
  }();
  std::string path = dir + "/recipe.yaml";
  std::ofstream(path) << "output: " << dir << "/model\ntokenizer: " << tokenizer_path()
                      << "\ncorpus: " << dir << "/corpus.txt\nseed: 3\nmodel:\n"
                      << "  hidden_size: 32\n  intermediate_size: 64\n  num_hidden_layers: 1\n"
                      << "  num_attention_heads: 2\n  num_key_value_heads: 1\n"
                      << "data:\n  retrieval_fraction: 0.5\n  min_episode_tokens: 160\n"
                      << "  max_episode_tokens: 200\ntraining:\n  steps: 40\n  batch_size: 2\n"
                      << "  seq_len: 32\n  learning_rate: " << learning_rate
                      << "\n  warmup_steps: 5\n"
                      << "  log_every: 20\n  save_every: 40\n"
                      << extra;
  return path;
}

TEST(Trainer, LossFallsAndTheCheckpointLoads) {
  ASSERT_FALSE(tokenizer_path().empty());
  const std::string dir = ::testing::TempDir() + "/trainer_" + std::to_string(getpid());
  std::system(("mkdir -p " + dir).c_str());
  std::ostringstream log;
  train_model(TrainRecipe::load(write_recipe(dir, "")), log);
  // The two logged text losses: at step 20 and step 40.
  std::istringstream lines(log.str());
  std::vector<double> text_losses;
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find("text_loss ");
    if (line.rfind("step ", 0) == 0 && at != std::string::npos) {
      text_losses.push_back(std::stod(line.substr(at + 10)));
    }
  }
  ASSERT_EQ(text_losses.size(), 2u) << log.str();
  EXPECT_LT(text_losses[1], text_losses[0]) << log.str();
  EXPECT_LT(text_losses[1], 3.0) << log.str();  // one repeated sentence: easy to learn
  auto model = LlamaModel::load(dir + "/model");
  EXPECT_EQ(model->config().num_hidden_layers, 1);
  // Saving and loading again gives the same logits.
  model->save(dir + "/model");
  auto again = LlamaModel::load(dir + "/model");
  EXPECT_EQ(model->prefill({1, 2, 3}, nullptr, true).logits,
            again->prefill({1, 2, 3}, nullptr, true).logits);
}

TEST(Trainer, RecipeErrorsNameTheKeyAndLine) {
  ASSERT_FALSE(tokenizer_path().empty());
  const std::string dir = ::testing::TempDir() + "/trainer_bad_" + std::to_string(getpid());
  std::system(("mkdir -p " + dir).c_str());
  try {
    TrainRecipe::load(write_recipe(dir, "  learning_rat: 0.1\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 23: unknown key 'training.learning_rat'"),
              std::string::npos)
        << e.what();
  }
  try {
    TrainRecipe::load(write_recipe(dir, "", "fast"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong type"), std::string::npos) << e.what();
  }
  try {
    TrainRecipe::load(write_recipe(dir, "device: tpu\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
  if (!torch::cuda::is_available()) {  // a clear error, not a libtorch exception mid-training
    std::ostringstream log;
    try {
      train_model(TrainRecipe::load(write_recipe(dir, "device: cuda\n")), log);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
    }
  }
}

TEST(LineRetrieval, EpisodesFitTheirBudgetAndHoldTheAnswer) {
  ASSERT_FALSE(tokenizer_path().empty());
  Tokenizer tok = Tokenizer::load(tokenizer_path());
  for (int64_t budget : {200, 1000}) {
    std::mt19937_64 a(7), b(7);
    RetrievalEpisode e = make_retrieval_episode(tok, budget, a);
    RetrievalEpisode f = make_retrieval_episode(tok, budget, b);
    EXPECT_EQ(e.context, f.context);  // deterministic in the seed
    EXPECT_LE(static_cast<int64_t>(tok.encode(e.context).size()), budget);
    EXPECT_GT(static_cast<int64_t>(tok.encode(e.context).size()), budget - 40);
    std::string key = e.question.substr(e.question.find("line ") + 5);
    key = key.substr(0, key.find('?'));
    EXPECT_NE(e.context.find("line " + key + ": REGISTER_CONTENT is <" + e.answer + ">"),
              std::string::npos);
  }
  EXPECT_THROW(make_retrieval_episode(tok, 5, *std::make_unique<std::mt19937_64>(1)), Error);
}

}  // namespace
}  // namespace cachegen
