// The decoder and tokenizer on a real pretrained checkpoint, SmolLM2-135M (models/smollm2-135m,
// made by scripts/setup.sh), against transformers on the same checkpoint
// (make_smollm2_reference.py, run by the ctest fixture): the held-out passage's token ids
// identical, its perplexity within 1e-5 relative, its KV cache within 1e-4 relative, and 32
// greedy tokens identical. Fails when the checkpoint is missing, unless CACHEGEN_SKIP_MODELS=1
// says it was left out on purpose.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/dtype.h"
#include "cachegen/core/safetensors.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/named_checkpoints.h"
#include "cachegen/models/tokenizer.h"
#include "hf_fixtures.h"

namespace cachegen {
namespace {

const std::string kCheckpoint = CACHEGEN_SOURCE_DIR "/models/smollm2-135m";

template <typename T>
std::vector<T> values(const SafetensorsTensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

class SmolLM2Reference : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code error;
    if (!std::filesystem::is_regular_file(kCheckpoint + "/config.json", error)) {
      const char* skip = std::getenv("CACHEGEN_SKIP_MODELS");
      if (skip && std::string(skip) == "1")
        GTEST_SKIP() << "CACHEGEN_SKIP_MODELS=1: " << kCheckpoint << " left out";
      FAIL() << kCheckpoint << " is missing: scripts/setup.sh makes it (scripts/make-smollm2.sh)";
    }
    dir_ = hf_fixture_dir("smollm2");
    ASSERT_FALSE(dir_.empty()) << "make_smollm2_reference.py failed; see its log in "
                               << ::testing::TempDir();
  }
  std::string dir_;
};

TEST_F(SmolLM2Reference, MatchesTransformers) {
  SafetensorsFile ref = SafetensorsFile::load(dir_ + "/reference.safetensors");
  const std::vector<int32_t> ids = values<int32_t>(ref.tensors.at("input_ids"));
  std::vector<uint8_t> passage = read_file(dir_ + "/passage.txt");
  Tokenizer tokenizer = Tokenizer::load(kCheckpoint + "/tokenizer.json");
  EXPECT_EQ(tokenizer.encode(std::string(passage.begin(), passage.end())), ids);
  EXPECT_EQ(checkpoint_directory("smollm2-135m"), kCheckpoint);

  auto model = LlamaModel::load(kCheckpoint, ModelLoadOptions{"cpu", "f32", 2});
  // Perplexity of the passage: each token 1..n-1 given the ones before it.
  std::vector<double> log_probs = model->log_probs(ids, nullptr);
  double total = 0;
  for (double lp : log_probs)
    total += lp;
  const double ours = std::exp(-total / static_cast<double>(log_probs.size()));
  std::vector<uint8_t> json = read_file(dir_ + "/reference.json");
  const double theirs = nlohmann::json::parse(json.begin(), json.end()).at("perplexity");
  EXPECT_NEAR(ours / theirs, 1.0, 1e-5) << "ours " << ours << ", transformers " << theirs;

  // The KV cache: max |ours - theirs| / max |theirs| over every layer, K and V.
  PrefillResult prefill = model->prefill(ids, nullptr, false);
  const std::vector<float> expected = values<float>(ref.tensors.at("kv"));
  std::vector<float> kv(static_cast<size_t>(prefill.kv.shape().elements()));
  ASSERT_EQ(kv.size(), expected.size());
  to_float(prefill.kv.dtype(), prefill.kv.data(), kv.data(), prefill.kv.shape().elements());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < kv.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(kv[i]) - expected[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  }
  EXPECT_LT(diff / scale, 1e-4);

  EXPECT_EQ(model->generate(ids, nullptr, 32, -1), values<int32_t>(ref.tensors.at("greedy")));
}

}  // namespace
}  // namespace cachegen
