// The decoder against Hugging Face transformers on the same random-weight checkpoints (made by
// make_hf_reference.py at test time): logits and KV within 1e-4 relative in f32, prefill split
// across a KV cache equal to one pass, and 32 greedy tokens identical.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/core/safetensors.h"
#include "cachegen/models/llama_model.h"
#include "hf_fixtures.h"

namespace cachegen {
namespace {

// make_hf_reference.py's output directory ("" on failure).
const std::string& reference_dir() {
  static const std::string dir = hf_fixture_dir("reference");
  return dir;
}

class HfReference : public ::testing::TestWithParam<std::string> {};

std::vector<float> floats(const SafetensorsTensor& t) {
  std::vector<float> v(t.data.size() / 4);
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

std::vector<int32_t> ints(const SafetensorsTensor& t) {
  std::vector<int32_t> v(t.data.size() / 4);
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

// max |a - b| / max |b|
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

std::vector<float> kv_floats(const KVCache& kv) {
  std::vector<float> v(static_cast<size_t>(kv.shape().elements()));
  to_float(kv.dtype(), kv.data(), v.data(), kv.shape().elements());
  return v;
}

TEST_P(HfReference, MatchesTransformers) {
  ASSERT_FALSE(reference_dir().empty())
      << "make_hf_reference.py failed; see " << ::testing::TempDir() << "/hf_reference_" << getpid()
      << ".log";
  const std::string path = reference_dir() + "/" + GetParam();
  SafetensorsFile ref = SafetensorsFile::load(path + "/reference.safetensors");
  const std::vector<int32_t> ids = ints(ref.tensors.at("input_ids"));
  auto model = LlamaModel::load(path, ModelLoadOptions{"cpu", "f32", 0});

  PrefillResult full = model->prefill(ids, nullptr, /*all_logits=*/true);
  EXPECT_LT(relative_error(full.logits, floats(ref.tensors.at("logits"))), 1e-4);
  EXPECT_LT(relative_error(kv_floats(full.kv), floats(ref.tensors.at("kv"))), 1e-4);

  // The same tokens in two steps, the second on top of the first's KV cache.
  std::vector<int32_t> head(ids.begin(), ids.begin() + 30), tail(ids.begin() + 30, ids.end());
  PrefillResult first = model->prefill(head, nullptr, false);
  PrefillResult second = model->prefill(tail, &first.kv, true);
  std::vector<float> ref_logits = floats(ref.tensors.at("logits"));
  std::vector<float> ref_tail(ref_logits.begin() + 30 * model->vocab_size(), ref_logits.end());
  EXPECT_LT(relative_error(second.logits, ref_tail), 1e-4);

  EXPECT_EQ(model->generate(ids, nullptr, 32, -1), ints(ref.tensors.at("greedy")));
  // Greedy decoding from a supplied KV cache gives the same tokens.
  std::vector<int32_t> last(ids.end() - 1, ids.end());
  PrefillResult context =
      model->prefill(std::vector<int32_t>(ids.begin(), ids.end() - 1), nullptr, false);
  EXPECT_EQ(model->generate(last, &context.kv, 32, -1), ints(ref.tensors.at("greedy")));

  // Perplexity inputs: log p of each next token, from the reference logits.
  std::vector<double> lp = model->log_probs(ids, nullptr);
  ASSERT_EQ(lp.size(), ids.size() - 1);
  const int64_t v = model->vocab_size();
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < v; ++j)
      m = std::max(m, static_cast<double>(ref_logits[i * v + j]));
    for (int64_t j = 0; j < v; ++j)
      sum += std::exp(ref_logits[i * v + j] - m);
    double expected = ref_logits[i * v + ids[i + 1]] - m - std::log(sum);
    EXPECT_NEAR(lp[i], expected, 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, HfReference,
                         ::testing::Values("llama", "mistral", "qwen2"));

TEST(LlamaModel, BadCheckpointsNameTheTensor) {
  ASSERT_FALSE(reference_dir().empty());
  std::string dir = reference_dir() + "/llama";
  SafetensorsFile weights = SafetensorsFile::load(dir + "/model.safetensors");
  std::string broken = ::testing::TempDir() + "/broken_model";
  std::system(("mkdir -p " + broken + " && cp " + dir + "/config.json " + broken).c_str());
  SafetensorsFile missing = weights;
  missing.tensors.erase("model.layers.1.mlp.up_proj.weight");
  missing.save(broken + "/model.safetensors");
  try {
    LlamaModel::load(broken);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'model.layers.1.mlp.up_proj.weight'"),
              std::string::npos)
        << e.what();
  }
  SafetensorsFile misshaped = weights;
  misshaped.tensors["model.norm.weight"].shape = {32, 2};
  misshaped.save(broken + "/model.safetensors");
  try {
    LlamaModel::load(broken);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model.norm.weight' has shape"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cachegen
