// Conformance of every registered language model, created with its sample options: it comes
// with a tokenizer, its KV has the shape it declares, prefilling on top of its own KV equals
// prefilling at once, log_probs agree with the logits, greedy generation is the logits' argmax
// and deterministic, prefilling on resident KV (pieces in the model's memory) equals prefilling
// on a KV cache, the fused attention path agrees with the blocked one, and, for a Hugging Face
// checkpoint directory, its perplexity equals transformers' on the same checkpoint
// (scripts/hf_perplexity.py). A new language model is covered by registering it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/error.h"
#include "cachegen/core/language_model.h"
#include "hf_fixtures.h"

namespace cachegen {
namespace {

const char kText[] =
    "On the first day the keeper of the lighthouse wrote that the sea was calm and the lamp "
    "burned until dawn. On the second day a storm came from the west.";

class LanguageModelConformance : public ::testing::TestWithParam<std::string> {
 protected:
  // A model whose files are missing (a named checkpoint scripts/setup.sh makes) fails the test,
  // unless CACHEGEN_SKIP_MODELS=1 says it was left out on purpose.
  void SetUp() override {
    const PluginInfo& info = language_model_registry().info(GetParam());
    std::filesystem::current_path(CACHEGEN_SOURCE_DIR);
    try {
      language_model_registry().validated(GetParam(), Options::parse(info.sample_options, "test"));
    } catch (const Error& e) {
      const char* skip = std::getenv("CACHEGEN_SKIP_MODELS");
      if (skip && std::string(skip) == "1")
        GTEST_SKIP() << "CACHEGEN_SKIP_MODELS=1: " << e.what();
      FAIL() << e.what();
    }
  }
  static LanguageModel& model(const std::string& name) {
    static std::map<std::string, std::unique_ptr<LanguageModel>> loaded;
    std::unique_ptr<LanguageModel>& slot = loaded[name];
    if (!slot) {
      std::filesystem::current_path(CACHEGEN_SOURCE_DIR);  // sample paths are relative to it
      const PluginInfo& info = language_model_registry().info(name);
      slot = language_model_registry().create(name, Options::parse(info.sample_options, "test"), 2);
    }
    return *slot;
  }
  LanguageModel& model() const { return model(GetParam()); }
  std::vector<int32_t> tokens() const {
    const TextTokenizer& t = *model().tokenizer();
    std::vector<int32_t> ids = t.encode(kText);
    if (t.bos_id() >= 0)
      ids.insert(ids.begin(), t.bos_id());
    return ids;
  }
};

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}

TEST_P(LanguageModelConformance, HasATokenizerThatRoundTrips) {
  ASSERT_NE(model().tokenizer(), nullptr);
  const TextTokenizer& t = *model().tokenizer();
  EXPECT_EQ(t.decode(t.encode(kText)), kText);
}

TEST_P(LanguageModelConformance, PrefillOnItsOwnKVEqualsPrefillAtOnce) {
  const std::vector<int32_t> ids = tokens();
  const size_t half = ids.size() / 2;
  PrefillResult whole = model().prefill(ids, nullptr, true);
  EXPECT_EQ(whole.kv.shape(), model().kv_shape(static_cast<int64_t>(ids.size())));
  ASSERT_EQ(whole.positions, static_cast<int64_t>(ids.size()));
  PrefillResult first =
      model().prefill({ids.begin(), ids.begin() + static_cast<long>(half)}, nullptr, false);
  PrefillResult second =
      model().prefill({ids.begin() + static_cast<long>(half), ids.end()}, &first.kv, true);
  EXPECT_EQ(second.kv.shape(), whole.kv.shape());
  const auto vocab = static_cast<size_t>(model().vocab_size());
  std::vector<float> tail(whole.logits.begin() + static_cast<long>(half * vocab),
                          whole.logits.end());
  EXPECT_LT(max_abs_difference(tail, second.logits), 1e-3);
}

TEST_P(LanguageModelConformance, LogProbsAndGenerationFollowTheLogits) {
  const std::vector<int32_t> ids = tokens();
  const auto vocab = static_cast<size_t>(model().vocab_size());
  PrefillResult whole = model().prefill(ids, nullptr, true);
  std::vector<double> log_probs = model().log_probs(ids, nullptr);
  ASSERT_EQ(log_probs.size(), ids.size() - 1);
  for (size_t i : {size_t{0}, ids.size() / 2, ids.size() - 2}) {
    const float* row = whole.logits.data() + i * vocab;
    const double top = *std::max_element(row, row + vocab);
    double sum = 0;
    for (size_t v = 0; v < vocab; ++v)
      sum += std::exp(static_cast<double>(row[v]) - top);
    EXPECT_NEAR(log_probs[i], row[ids[i + 1]] - top - std::log(sum), 1e-3) << "position " << i;
  }
  const float* last = whole.logits.data() + (ids.size() - 1) * vocab;
  const auto argmax = static_cast<int32_t>(std::max_element(last, last + vocab) - last);
  std::vector<int32_t> generated = model().generate(ids, nullptr, 4, -1);
  ASSERT_EQ(generated.size(), 4u);
  EXPECT_EQ(generated.front(), argmax);
  EXPECT_EQ(model().generate(ids, nullptr, 4, -1), generated);
}

TEST_P(LanguageModelConformance, PrefillOnResidentKVEqualsPrefillOnACache) {
  if (model().device() != "cpu")
    GTEST_SKIP() << "resident memory of " << model().device() << " is checked by gpu-check.sh";
  const std::vector<int32_t> ids = tokens();
  const size_t a = ids.size() / 3, b = 2 * ids.size() / 3;
  const std::vector<int32_t> first(ids.begin(), ids.begin() + static_cast<long>(a)),
      second(ids.begin() + static_cast<long>(a), ids.begin() + static_cast<long>(b)),
      third(ids.begin() + static_cast<long>(b), ids.end());
  PrefillResult one = model().prefill(first, nullptr, false);
  PrefillResult two = model().prefill(second, &one.kv, false);
  PrefillResult three = model().prefill(third, &two.kv, false);
  // The same context as two resident pieces (host memory: the model runs on the CPU).
  KVCache piece0 = two.kv.slice_tokens(0, static_cast<int64_t>(a));
  KVCache piece1 = two.kv.slice_tokens(static_cast<int64_t>(a), static_cast<int64_t>(b - a));
  std::vector<ResidentKV> past = {{piece0.shape(), piece0.dtype(), piece0.data()},
                                  {piece1.shape(), piece1.dtype(), piece1.data()}};
  KVCache out(model().kv_shape(static_cast<int64_t>(third.size())), DType::kF32);
  const ResidentKV out_view{out.shape(), out.dtype(), out.data()};
  const int32_t next = model().prefill_resident(third, past, &out_view);
  const auto vocab = static_cast<long>(model().vocab_size());
  EXPECT_EQ(next, std::max_element(three.logits.begin(), three.logits.begin() + vocab) -
                      three.logits.begin());
  KVCache expected =
      three.kv.slice_tokens(static_cast<int64_t>(b), static_cast<int64_t>(third.size()))
          .converted(DType::kF32);
  EXPECT_EQ(kv_relative_error(out, expected), 0.0);
  // Misfits are refused, naming the piece.
  std::vector<ResidentKV> wrong = past;
  wrong[1].shape.head_dim += 1;
  try {
    model().prefill_resident(third, wrong, nullptr);
    FAIL() << "a piece of the wrong shape was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("past piece 1"), std::string::npos) << e.what();
  }
}

TEST_P(LanguageModelConformance, FusedAttentionAgreesWithBlocked) {
  const PluginInfo& info = language_model_registry().info(GetParam());
  bool has_attention_option = false;
  for (const OptionSpec& o : info.options)
    has_attention_option = has_attention_option || o.name == "attention";
  if (!has_attention_option)
    GTEST_SKIP() << "no attention option";
  auto load = [&](const std::string& attention) {
    return language_model_registry().create(
        GetParam(),
        Options::parse(info.sample_options + (info.sample_options.empty() ? "" : ";") +
                           "dtype=f32;attention=" + attention,
                       "test"),
        2);
  };
  std::unique_ptr<LanguageModel> blocked = load("blocked"), fused = load("fused");
  const std::vector<int32_t> ids = tokens();
  const size_t half = ids.size() / 2;
  const std::vector<int32_t> head(ids.begin(), ids.begin() + static_cast<long>(half)),
      tail(ids.begin() + static_cast<long>(half), ids.end());
  // From position 0 (the kernel's causal mask) and on top of a past (an explicit mask).
  PrefillResult b0 = blocked->prefill(head, nullptr, true),
                f0 = fused->prefill(head, nullptr, true);
  PrefillResult b1 = blocked->prefill(tail, &b0.kv, true), f1 = fused->prefill(tail, &b0.kv, true);
  EXPECT_LT(max_abs_difference(b0.logits, f0.logits), 1e-3);
  EXPECT_LT(max_abs_difference(b1.logits, f1.logits), 1e-3);
  EXPECT_LT(kv_relative_error(f1.kv, b1.kv), 1e-5);
}

TEST_P(LanguageModelConformance, PerplexityMatchesTransformersOnItsCheckpoint) {
  const std::string directory = model().name();
  std::error_code error;
  if (!std::filesystem::is_regular_file(directory + "/config.json", error))
    GTEST_SKIP() << "not a Hugging Face checkpoint directory: " << directory;
  const std::string text = ::testing::TempDir() + "/conformance_" + GetParam() + ".txt";
  std::ofstream(text) << kText;
  const std::string command = std::string(CACHEGEN_PYTHON) + " " + CACHEGEN_SOURCE_DIR +
                              "/scripts/hf_perplexity.py " + directory + " " + text;
  const CommandOutput result = run_command(command);
  ASSERT_EQ(result.status, 0) << command << "\n" << result.output;
  const double reference = nlohmann::json::parse(result.output).at("perplexity").get<double>();
  const std::vector<double> log_probs = model().log_probs(tokens(), nullptr);
  double total = 0;
  for (double lp : log_probs)
    total += lp;
  const double ours = std::exp(-total / static_cast<double>(log_probs.size()));
  EXPECT_NEAR(ours / reference, 1.0, 1e-4) << "ours " << ours << ", transformers " << reference;
}

INSTANTIATE_TEST_SUITE_P(Registered, LanguageModelConformance,
                         ::testing::ValuesIn(language_model_registry().names()),
                         [](const auto& test) {
                           std::string name = test.param;  // gtest names: letters, digits, _
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace cachegen
