// The decoder against Hugging Face transformers on the same random-weight checkpoints (made by
// make_hf_reference.py at test time): logits and KV within 1e-4 relative in f32, prefill on top
// of a KV cache, and 32 greedy tokens identical, from scratch and from a supplied KV cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/safetensors.h"
#include "cachegen/core/token_selection.h"
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

// Layer l's K and V of `kv` for its last `tokens` positions: [2, tokens, Hkv, D] as floats.
std::vector<float> layer_kv_suffix(const KVCache& kv, int64_t layer, int64_t tokens) {
  const KVShape& s = kv.shape();
  const std::vector<float> all = kv_floats(kv);
  const int64_t row = s.kv_heads * s.head_dim;
  std::vector<float> out;
  for (int64_t plane = 0; plane < 2; ++plane) {
    const int64_t base = ((layer * 2 + plane) * s.tokens + (s.tokens - tokens)) * row;
    out.insert(out.end(), all.begin() + base, all.begin() + base + tokens * row);
  }
  return out;
}

TEST_P(HfReference, MatchesTransformers) {
  ASSERT_FALSE(reference_dir().empty())
      << "make_hf_reference.py failed; see " << ::testing::TempDir() << "/hf_reference_" << getpid()
      << ".log";
  const std::string path = reference_dir() + "/" + GetParam();
  SafetensorsFile ref = SafetensorsFile::load(path + "/reference.safetensors");
  const std::vector<int32_t> ids = ints(ref.tensors.at("input_ids"));
  auto model = LlamaModel::load(path, ModelLoadOptions{"cpu", "f32", 0});
  const int64_t v = model->vocab_size();

  PrefillResult full = model->prefill(ids, nullptr, /*all_logits=*/true);
  const std::vector<float> ref_logits = floats(ref.tensors.at("logits"));
  EXPECT_LT(relative_error(full.logits, ref_logits), 1e-4);
  // The exported KV holds every token; on sliding-window layers transformers keeps only the
  // last window - 1, which must equal ours.
  for (int64_t l = 0; l < full.kv.shape().layers; ++l) {
    const SafetensorsTensor& layer = ref.tensors.at("kv." + std::to_string(l));
    EXPECT_LT(relative_error(layer_kv_suffix(full.kv, l, layer.shape[1]), floats(layer)), 1e-4)
        << "layer " << l;
  }

  // The last tokens prefilled on top of the first 30's KV cache. Equal to the one-pass logits
  // except under dynamic RoPE, whose cached keys keep the frequencies of the shorter pass.
  std::vector<int32_t> head(ids.begin(), ids.begin() + 30), tail(ids.begin() + 30, ids.end());
  PrefillResult first = model->prefill(head, nullptr, false);
  PrefillResult second = model->prefill(tail, &first.kv, true);
  EXPECT_LT(relative_error(second.logits, floats(ref.tensors.at("split_logits"))), 1e-4);

  EXPECT_EQ(model->generate(ids, nullptr, 32, -1), ints(ref.tensors.at("greedy")));
  // Greedy decoding from a supplied KV cache, token by token.
  std::vector<int32_t> last(ids.end() - 1, ids.end());
  PrefillResult context =
      model->prefill(std::vector<int32_t>(ids.begin(), ids.end() - 1), nullptr, false);
  EXPECT_EQ(model->generate(last, &context.kv, 32, -1), ints(ref.tensors.at("greedy_from_kv")));

  // Perplexity inputs: log p of each next token, from the reference logits.
  std::vector<double> lp = model->log_probs(ids, nullptr);
  ASSERT_EQ(lp.size(), ids.size() - 1);
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

// H2O's inputs against transformers' explicit (eager) attention matrices, and a cache that keeps
// 20 of 40 tokens per (layer, KV head): later tokens at their original positions give
// transformers' logits on the same kept cache, and greedy decoding continues from them.
TEST_P(HfReference, AttentionScoresAndKeptTokensMatchTransformers) {
  ASSERT_FALSE(reference_dir().empty());
  const std::string path = reference_dir() + "/" + GetParam();
  SafetensorsFile ref = SafetensorsFile::load(path + "/reference.safetensors");
  const std::vector<int32_t> ids = ints(ref.tensors.at("input_ids"));
  ModelLoadOptions options{"cpu", "f32", 0};
  options.attention = "fused";  // (the scores still come from the blocked path)
  auto model = LlamaModel::load(path, options);
  EXPECT_LT(
      relative_error(model->attention_received(ids), floats(ref.tensors.at("attention_received"))),
      1e-5);
  const std::vector<int32_t> head(ids.begin(), ids.begin() + 40), tail(ids.begin() + 40, ids.end());
  const PrefillResult context = model->prefill(head, nullptr, false);
  if (!ref.tensors.count("kept_index")) {  // sliding windows: dropped tokens are refused
    KeptTokens kept = h2o_select(model->attention_received(head), context.kv.shape().layers,
                                 context.kv.shape().kv_heads, 40, 20, 4, SelectionScope::kHead);
    const KVCache kept_kv = gather_kept(context.kv, kept);
    EXPECT_THROW(model->prefill(tail, &kept_kv, true, 40), Error);
    return;
  }
  const KVShape& s = context.kv.shape();
  KeptTokens kept{s.layers, s.kv_heads, 40, 20, ints(ref.tensors.at("kept_index"))};
  const KVCache kept_kv = gather_kept(context.kv, kept);
  const PrefillResult on_kept = model->prefill(tail, &kept_kv, true, 40);
  const std::vector<float> expected = floats(ref.tensors.at("kept_logits"));
  EXPECT_LT(relative_error(on_kept.logits, expected), 1e-4);
  // Positions matter: the same cache read as if the tail followed slot 20 differs.
  EXPECT_GT(relative_error(model->prefill(tail, &kept_kv, true).logits, expected), 1e-3);
  const int64_t v = model->vocab_size();
  const auto last = std::max_element(expected.end() - v, expected.end()) - (expected.end() - v);
  EXPECT_EQ(model->generate(tail, &kept_kv, 1, -1, 40),
            std::vector<int32_t>{static_cast<int32_t>(last)});
  EXPECT_THROW(model->prefill(tail, &kept_kv, true, 10), Error);  // inside the cached tokens
}

// The fused attention path (scaled_dot_product_attention with the kernel's causal mask or an
// explicit one for a past or a window) against transformers too: one pass and on a past.
TEST_P(HfReference, FusedAttentionMatchesTransformers) {
  ASSERT_FALSE(reference_dir().empty());
  const std::string path = reference_dir() + "/" + GetParam();
  SafetensorsFile ref = SafetensorsFile::load(path + "/reference.safetensors");
  const std::vector<int32_t> ids = ints(ref.tensors.at("input_ids"));
  ModelLoadOptions options{"cpu", "f32", 0};
  options.attention = "fused";
  auto model = LlamaModel::load(path, options);
  EXPECT_LT(
      relative_error(model->prefill(ids, nullptr, true).logits, floats(ref.tensors.at("logits"))),
      1e-4);
  std::vector<int32_t> head(ids.begin(), ids.begin() + 30), tail(ids.begin() + 30, ids.end());
  PrefillResult first = model->prefill(head, nullptr, false);
  EXPECT_LT(relative_error(model->prefill(tail, &first.kv, true).logits,
                           floats(ref.tensors.at("split_logits"))),
            1e-4);
}

// The cases of make_hf_reference.py: every RoPE type (llama3, linear, dynamic, yarn twice),
// sliding windows (all layers, upper layers only), explicit head_dim with attention/MLP biases.
INSTANTIATE_TEST_SUITE_P(Architectures, HfReference,
                         ::testing::Values("llama", "llama-linear", "llama-dynamic", "llama-yarn",
                                           "llama-bias-head-dim", "mistral", "mistral-sliding",
                                           "qwen2", "qwen2-sliding", "qwen2-yarn"),
                         [](const ::testing::TestParamInfo<std::string>& case_info) {
                           std::string name = case_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Safetensors written here, read by the Python `safetensors` package (an independent reader):
// every value of an f32, f16 and bf16 KV cache, and the metadata.
TEST(Safetensors, FilesWrittenHereReadByThePythonPackage) {
  const std::string dir = ::testing::TempDir() + "/st_python_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    KVCache kv(KVShape{2, 3, 2, 4}, dtype);
    std::vector<float> row(8);
    for (int64_t l = 0; l < 2; ++l)
      for (int kind = 0; kind < 2; ++kind)
        for (int64_t t = 0; t < 3; ++t) {
          for (size_t c = 0; c < row.size(); ++c)
            row[c] =
                static_cast<float>(l * 100 + kind * 10 + t) + 0.125f * static_cast<float>(c) - 3;
          kv.store_row(l, kind, t, row.data());
        }
    const std::string path = dir + "/kv_" + dtype_name(dtype) + ".safetensors";
    save_kv(path, kv, "test-model");
    const std::string command =
        std::string(CACHEGEN_PYTHON) +
        " -c \"import json,sys; from safetensors import safe_open; f=safe_open(sys.argv[1],'pt'); "
        "t=f.get_tensor('kv'); print(json.dumps({'meta': f.metadata(), 'dtype': str(t.dtype), "
        "'shape': list(t.shape), 'values': t.float().flatten().tolist()}))\" " +
        path;
    const CommandOutput result = run_command(command);
    ASSERT_EQ(result.status, 0) << command << "\n" << result.output;
    const nlohmann::json j = nlohmann::json::parse(result.output);
    EXPECT_EQ(j["meta"]["model"], "test-model");
    EXPECT_EQ(j["dtype"], dtype == DType::kF32   ? "torch.float32"
                          : dtype == DType::kF16 ? "torch.float16"
                                                 : "torch.bfloat16");
    EXPECT_EQ(j["shape"], nlohmann::json::array({2, 2, 3, 2, 4}));
    const std::vector<float> values = j["values"].get<std::vector<float>>();
    ASSERT_EQ(values.size(), 96u);
    size_t i = 0;
    for (int64_t l = 0; l < 2; ++l)
      for (int kind = 0; kind < 2; ++kind)
        for (int64_t t = 0; t < 3; ++t)
          for (int64_t c = 0; c < 8; ++c, ++i)
            EXPECT_EQ(values[i], kv.at(l, kind, t, c)) << dtype_name(dtype) << " element " << i;
  }
}

// A checkpoint saved by LlamaModel::save loads back with the same configuration and outputs
// (config.json written by ModelConfig::to_json).
TEST(LlamaModel, SaveRoundTripsEveryFeature) {
  ASSERT_FALSE(reference_dir().empty());
  for (const char* name : {"llama-yarn", "llama-bias-head-dim", "qwen2-sliding"}) {
    auto model = LlamaModel::load(reference_dir() + "/" + name, ModelLoadOptions{"cpu", "f32", 0});
    const std::string copy = ::testing::TempDir() + "/saved_" + name;
    std::filesystem::create_directories(copy);
    model->save(copy);
    auto again = LlamaModel::load(copy, ModelLoadOptions{"cpu", "f32", 0});
    EXPECT_EQ(again->config().to_json(), model->config().to_json()) << name;
    std::vector<int32_t> ids = {5, 17, 99, 3, 250, 41, 7, 600, 12, 33, 2, 8, 91, 64, 300, 1};
    EXPECT_EQ(again->prefill(ids, nullptr, true).logits, model->prefill(ids, nullptr, true).logits)
        << name;
  }
}

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
