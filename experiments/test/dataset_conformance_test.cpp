// Conformance of every registered dataset (and the docs/examples dataset), created with its
// sample options (the files in experiments/test/data/) for the built-in model's tokenizer:
// requests are deterministic in their seed, start with BOS, fit the token budget, and are
// either questions with answers or text with exactly eval_tokens scored tokens. A new dataset
// is covered by registering it.
#include <gtest/gtest.h>

#include <filesystem>

#include "cachegen/core/dataset.h"
#include "cachegen/models/tokenizer.h"

namespace cachegen {
namespace {

class DatasetConformance : public ::testing::TestWithParam<std::string> {
 protected:
  static const Tokenizer& tokenizer() {
    static const Tokenizer t =
        Tokenizer::load(CACHEGEN_SOURCE_DIR "/models/builtin/tokenizer.json");
    return t;
  }
  std::unique_ptr<Dataset> make() const {
    // Sample options name files relative to the source tree.
    std::filesystem::current_path(CACHEGEN_SOURCE_DIR);
    const PluginInfo& info = dataset_registry().info(GetParam());
    return dataset_registry().create(GetParam(), Options::parse(info.sample_options, "test"),
                                     tokenizer());
  }
};

TEST_P(DatasetConformance, RequestsAreDeterministicAndFitTheirBudget) {
  std::unique_ptr<Dataset> dataset = make();
  for (uint64_t seed : {1, 2, 3}) {
    DatasetRequest a = dataset->request(seed, 300, 20), b = make()->request(seed, 300, 20);
    EXPECT_EQ(a.context, b.context) << "seed " << seed;
    EXPECT_EQ(a.question, b.question);
    EXPECT_EQ(a.answers, b.answers);
    EXPECT_EQ(a.continuation, b.continuation);
    ASSERT_FALSE(a.context.empty());
    EXPECT_LE(a.context.size(), 300u);
    EXPECT_EQ(a.context.front(), tokenizer().bos_id());
    if (a.metric == QualityMetric::kPerplexity) {
      EXPECT_EQ(a.context.size(), 300u);
      EXPECT_EQ(a.continuation.size(), 20u);
      EXPECT_TRUE(a.question.empty());
    } else {
      EXPECT_FALSE(a.question.empty());
      ASSERT_FALSE(a.answers.empty());
      for (const std::string& answer : a.answers)
        EXPECT_FALSE(answer.empty());
      EXPECT_FALSE(a.answer_end.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, DatasetConformance,
                         ::testing::ValuesIn(dataset_registry().names()),
                         [](const auto& test) { return test.param; });

}  // namespace
}  // namespace cachegen
