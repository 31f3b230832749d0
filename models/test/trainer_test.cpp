// The trainer and the line-retrieval episodes, on a tiny model and corpus (seconds).
#include "cachegen/models/trainer.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../src/llama_impl.h"
#include "../src/longeval_cases.h"
#include "../src/training_data.h"
#include "cachegen/core/error.h"
#include "cachegen/models/line_retrieval.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/tokenizer.h"
#include "hf_fixtures.h"

namespace cachegen {
namespace {

// A byte-level tokenizer from make_tokenizers.py.
const std::string& tokenizer_path() {
  static const std::string path = [] {
    const std::string dir = hf_fixture_dir("tokenizers");
    return dir.empty() ? dir : dir + "/llama3.json";
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

// Rewrites a recipe written by write_recipe, replacing each `from` (which must be there).
std::string edit_recipe(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& edits) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  for (const auto& [from, to] : edits) {
    const size_t at = text.find(from);
    if (at == std::string::npos)
      throw std::runtime_error("edit_recipe: '" + from + "' is not in the recipe");
    text.replace(at, from.size(), to);
  }
  std::ofstream(path) << text;
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

// The trainer's batched forward (padded [B, T], fused attention) against the inference
// forward, sequence by sequence: the same hidden states at every real position. Also with a
// 3-token sliding window on the second layer, YaRN, and Llama's bias slots (zeros at random init).
TEST(Trainer, BatchedForwardMatchesForwardPerSequence) {
  for (bool variant : {false, true}) {
    ModelConfig c;
    c.vocab_size = 50;
    c.hidden_size = 32;
    c.intermediate_size = 48;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;  // grouped-query attention
    c.head_dim = 8;
    c.max_position_embeddings = 32;
    if (variant) {
      c.sliding_window = 3;
      c.sliding_layers = {false, true};
      c.qkv_bias = c.output_bias = c.mlp_bias = true;
      c.rope_scaling.type = RopeType::kYarn;
      c.rope_scaling.factor = 4;
      c.rope_scaling.original_max_position_embeddings = 8;
    }
    auto model = LlamaModel::random(c, 5, ModelLoadOptions{"cpu", "f32", 1});
    LlamaModel::Impl& m = model->impl();
    const std::vector<std::vector<int64_t>> sequences = {
        {1, 7, 3, 9, 12}, {4, 4, 8, 15, 16, 23, 42, 2, 30}, {11, 5, 6, 7, 8, 9, 10}};
    const int64_t width = 9;
    std::vector<int64_t> padded;
    for (const auto& s : sequences) {
      padded.insert(padded.end(), s.begin(), s.end());
      padded.resize(padded.size() + static_cast<size_t>(width) - s.size(), 0);
    }
    c10::InferenceMode guard;
    at::Tensor batched = m.forward_batch(at::tensor(padded, at::kLong).view({3, width}));
    ASSERT_EQ(batched.sizes(), (at::IntArrayRef{3, width, 32}));
    for (size_t b = 0; b < sequences.size(); ++b) {
      std::vector<at::Tensor> ks(2), vs(2);
      at::Tensor one = m.forward(at::tensor(sequences[b], at::kLong), ks, vs);
      const auto n = static_cast<int64_t>(sequences[b].size());
      at::Tensor same = batched[static_cast<int64_t>(b)].narrow(0, 0, n);
      EXPECT_TRUE(at::allclose(same, one, 1e-5, 1e-5))
          << "variant " << variant << ", sequence " << b << ": max difference "
          << (same - one).abs().max().item<float>();
    }
  }
}

// Copy sequences (a random string, then its repeat): the copy loss is logged and falls.
TEST(Trainer, CopySequencesAreLearnt) {
  ASSERT_FALSE(tokenizer_path().empty());
  const std::string dir = ::testing::TempDir() + "/trainer_copy_" + std::to_string(getpid());
  std::system(("mkdir -p " + dir).c_str());
  // Tied embeddings: the unembedding starts aligned with the embedding, so copying is
  // learnt in a few hundred steps of this one-layer model (random tokens, 452-token vocab).
  const std::string recipe = edit_recipe(
      write_recipe(dir, "", "0.01"),
      {{"  retrieval_fraction: 0.5\n",
        "  retrieval_fraction: 0\n  copy_fraction: 1\n  copy_tokens: 8\n"},
       {"  num_key_value_heads: 1\n", "  num_key_value_heads: 1\n  tie_word_embeddings: true\n"},
       {"  steps: 40\n", "  steps: 400\n"},
       {"  log_every: 20\n  save_every: 40\n", "  log_every: 200\n  save_every: 400\n"}});
  std::ostringstream log;
  train_model(TrainRecipe::load(recipe), log);
  std::vector<double> losses;
  std::istringstream lines(log.str());
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find("copy_loss ");
    if (line.rfind("step ", 0) == 0 && at != std::string::npos)
      losses.push_back(std::stod(line.substr(at + 10)));
  }
  ASSERT_EQ(losses.size(), 2u) << log.str();
  EXPECT_LT(losses[1], losses[0] - 1.0) << log.str();  // from ~ln(452) = 6.1
  EXPECT_TRUE(LlamaModel::load(dir + "/model")->config().tie_word_embeddings);
}

// Every shipped recipe loads (and so passes the range checks).
TEST(Trainer, ShippedRecipesLoad) {
  int loaded = 0;
  for (const char* dir : {"/configs/models", "/configs/models/pilots"}) {
    for (const auto& entry :
         std::filesystem::directory_iterator(CACHEGEN_SOURCE_DIR + std::string(dir))) {
      if (entry.path().extension() != ".yaml")
        continue;
      EXPECT_NO_THROW(TrainRecipe::load(entry.path().string())) << entry.path();
      ++loaded;
    }
  }
  EXPECT_GE(loaded, 6);
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
  try {
    TrainRecipe::load(
        edit_recipe(write_recipe(dir, ""), {{"model:\n", "model:\n  architecture: gpt\n"}}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.architecture"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qwen2"), std::string::npos) << e.what();
  }
  try {
    TrainRecipe::load(edit_recipe(
        write_recipe(dir, ""),
        {{"  retrieval_fraction: 0.5\n", "  retrieval_fraction: 0.5\n  copy_fraction: 0.6\n"}}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("copy_fraction"), std::string::npos) << e.what();
  }
  // Values that would divide by zero, loop forever or train on NaN are refused at load, naming
  // the key (found by fuzz_train_recipe).
  for (const auto& [from, to, key] : std::vector<std::array<std::string, 3>>{
           {"  num_attention_heads: 2\n", "  num_attention_heads: 0\n",
            "model.num_attention_heads"},
           {"  log_every: 20\n", "  log_every: 0\n", "training.log_every"},
           {"  learning_rate: 0.01\n", "  learning_rate: .nan\n", "training.learning_rate"},
           {"  num_attention_heads: 2\n", "  num_attention_heads: 3\n", "hidden_size (32)"},
           {"  seq_len: 32\n", "  seq_len: 99999999999\n", "training.seq_len"}}) {
    try {
      TrainRecipe::load(edit_recipe(write_recipe(dir, ""), {{from, to}}));
      FAIL() << to;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("recipe.yaml"), std::string::npos) << e.what();
    }
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

namespace cachegen {
namespace {

const std::string kLongEvalSample = CACHEGEN_SOURCE_DIR "/experiments/test/data/longchat.jsonl";

// LongEval cases (the official {prompt, expected_number} JSONL): the record's lines, the line
// asked about, and the same question about another line.
TEST(LongEvalCases, ReadTheRecordAndTheQuestion) {
  const std::vector<LongEvalCase> cases = load_longeval_cases(kLongEvalSample);
  ASSERT_EQ(cases.size(), 3u);
  const LongEvalCase& c = cases[0];
  EXPECT_EQ(c.asked, "item-0-7");
  EXPECT_EQ(c.expected, "1259");
  ASSERT_EQ(c.lines.size(), 40u);
  EXPECT_EQ(c.lines[0].key, "item-0-0");
  EXPECT_EQ(c.lines[0].number, "1000");
  EXPECT_EQ(c.lines[39].number, "2443");
  EXPECT_EQ(c.question,
            "Now the record is over. Tell me what is the <REGISTER_CONTENT> in line item-0-7? I "
            "need the number.");
  EXPECT_EQ(longeval_question_about(c, "item-0-12"),
            "Now the record is over. Tell me what is the <REGISTER_CONTENT> in line item-0-12? I "
            "need the number.");
  const std::string last_line = "line item-0-39: REGISTER_CONTENT is <2443>\n";
  ASSERT_GT(c.record.size(), last_line.size());
  EXPECT_EQ(c.record.substr(c.record.size() - last_line.size()), last_line);
}

TEST(LongEvalCases, ErrorsNameTheFileAndLine) {
  const std::string dir = ::testing::TempDir() + "/longeval_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string good = R"({"prompt": "Header\nline a-b: REGISTER_CONTENT is <7>\n)"
                           R"(Tell me what is the <REGISTER_CONTENT> in line a-b? I need the )"
                           R"(number.", "expected_number": 7})";
  for (const auto& [second_line, message] : std::vector<std::pair<std::string, std::string>>{
           {"{not json", "line 2: not JSON"},
           {R"({"prompt": "x\ny"})", "line 2: a LongEval case needs"},
           {R"({"prompt": "line a-b: REGISTER_CONTENT is <7>\nTell me in line c-d? x", )"
            R"("expected_number": 7})",
            "line 2: the record has no line 'c-d' with number 7"},
           {R"({"prompt": "line a-b: REGISTER_CONTENT is <7>\nwhich one?", )"
            R"("expected_number": 7})",
            "line 2: the question 'which one?' names no line"}}) {
    const std::string path = dir + "/cases.jsonl";
    std::ofstream(path) << good << "\n" << second_line << "\n";
    try {
      load_longeval_cases(path);
      FAIL() << second_line;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + " " + message), std::string::npos) << e.what();
    }
  }
  std::ofstream(dir + "/one.jsonl") << good << "\n";
  EXPECT_EQ(load_longeval_cases(dir + "/one.jsonl").at(0).asked, "a-b");
}

// A LongEval training sequence: BOS, the official prompt as it is, the reply prefix and the
// number, then more questions about distinct other lines; only the replies are scored, and
// each first digit is marked.
TEST(LongEvalCases, TrainingSequencesAnswerTheOfficialQuestionFirst) {
  ASSERT_FALSE(tokenizer_path().empty());
  const std::string dir = ::testing::TempDir() + "/longeval_seq_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  TrainRecipe recipe = TrainRecipe::load(edit_recipe(
      write_recipe(dir, ""), {{"  retrieval_fraction: 0.5\n",
                               "  retrieval_fraction: 0\n  longeval_fraction: 1\n"
                               "  longeval_path: " +
                                   kLongEvalSample + "\n  questions_per_episode: 3\n"},
                              {"  max_episode_tokens: 200\n", "  max_episode_tokens: 100000\n"}}));
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_path());
  const std::vector<int32_t> corpus(100, 5);
  TrainingData data(recipe, tokenizer, corpus, 0);
  const std::vector<LongEvalCase> cases = load_longeval_cases(kLongEvalSample);
  for (int draw = 0; draw < 4; ++draw) {
    const TrainingSequence s = data.next(100000);
    ASSERT_EQ(s.kind, SequenceKind::kLongEval);
    ASSERT_EQ(s.first_answer_token.size(), 3u);
    ASSERT_EQ(s.scored.size() + 1, s.tokens.size());
    std::vector<int32_t> body(s.tokens.begin() + (tokenizer.bos_id() >= 0 ? 1 : 0), s.tokens.end());
    const std::string text = tokenizer.decode(body);
    const LongEvalCase* c = nullptr;
    for (const LongEvalCase& k : cases)
      c = text.rfind(k.record + k.question, 0) == 0 ? &k : c;
    ASSERT_NE(c, nullptr) << text.substr(0, 200);
    const std::string rest = text.substr(c->record.size() + c->question.size());
    EXPECT_EQ(rest.rfind(std::string(longeval_reply_prefix()) + c->expected + ">\n", 0), 0u)
        << rest;
    // Scored: the replies (3 x prefix + digits + end) and nothing of the record.
    std::string scored;
    for (size_t i = 0; i < s.scored.size(); ++i)
      scored += s.scored[i] > 0 ? tokenizer.decode({s.tokens[i + 1]}) : "";
    EXPECT_EQ(scored.rfind(std::string(longeval_reply_prefix()) + c->expected + ">\n", 0), 0u)
        << scored;
    size_t replies = 0;
    for (size_t at = 0; (at = scored.find(longeval_reply_prefix(), at)) != std::string::npos; ++at)
      ++replies;
    EXPECT_EQ(replies, 3u) << scored;
    for (int64_t first : s.first_answer_token) {
      const std::string next = tokenizer.decode({s.tokens[static_cast<size_t>(first) + 1]});
      EXPECT_TRUE(!next.empty() && std::isdigit(static_cast<unsigned char>(next[0]))) << next;
    }
  }
  try {
    TrainRecipe::load(edit_recipe(write_recipe(dir, ""),
                                  {{"  retrieval_fraction: 0.5\n", "  longeval_fraction: 0.2\n"}}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("longeval_path"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cachegen
