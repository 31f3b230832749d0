// Quality metrics against hand-computed values (LongBench's F1 normalisation included).
#include "cachegen/experiments/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cachegen/core/error.h"

namespace cachegen {
namespace {

TEST(Metrics, NormalizeAnswerAsLongBench) {
  EXPECT_EQ(normalize_answer("The  Eiffel-Tower, in Paris!"), "eiffeltower in paris");
  EXPECT_EQ(normalize_answer("An apple a day"), "apple day");
  EXPECT_EQ(normalize_answer(""), "");
}

TEST(Metrics, AnswersAreJudgedByTheirMetric) {
  EXPECT_EQ(first_number(" 71432. Remember"), "71432");
  EXPECT_EQ(first_number("key 007 and 8"), "007");
  EXPECT_EQ(first_number("none"), "");
  EXPECT_TRUE(answer_is_correct(" 71432.", {"71432"}, QualityMetric::kNumber));
  EXPECT_FALSE(answer_is_correct(" 714321", {"71432"}, QualityMetric::kNumber));
  EXPECT_FALSE(answer_is_correct(" 7143", {"71432"}, QualityMetric::kNumber));
  EXPECT_TRUE(answer_is_correct("a 714321", {"71432"}, QualityMetric::kContains));
  // LongEval: the last number, as an integer (Python's int() drops leading zeros).
  EXPECT_EQ(last_number("line 3 has <045171>."), "45171");
  EXPECT_EQ(last_number("0 and 000"), "0");
  EXPECT_EQ(last_number("none"), "");
  EXPECT_TRUE(answer_is_correct("line 3: <45171>", {"45171"}, QualityMetric::kLastNumber));
  EXPECT_TRUE(answer_is_correct("<0045171>", {"45171"}, QualityMetric::kLastNumber));
  EXPECT_FALSE(answer_is_correct("<45171> or 12", {"45171"}, QualityMetric::kLastNumber));
  EXPECT_FALSE(answer_is_correct("none", {"45171"}, QualityMetric::kLastNumber));
  EXPECT_FALSE(answer_is_correct("451712", {"45171"}, QualityMetric::kLastNumber));
  EXPECT_FALSE(answer_is_correct(" 123", {"123"}, QualityMetric::kAccuracy));
  EXPECT_TRUE(answer_is_correct("123", {"9", "123"}, QualityMetric::kAccuracy));
  EXPECT_THROW(answer_is_correct("1", {"1"}, QualityMetric::kF1), Error);
}

TEST(Metrics, F1CountsSharedTokens) {
  EXPECT_DOUBLE_EQ(qa_f1_score("Paris", "paris."), 1.0);
  // prediction {in, paris, france}, truth {paris}: precision 1/3, recall 1.
  EXPECT_DOUBLE_EQ(qa_f1_score("in Paris, France", "Paris"), 0.5);
  EXPECT_DOUBLE_EQ(qa_f1_score("London", "Paris"), 0.0);
  EXPECT_DOUBLE_EQ(qa_f1_score("", "Paris"), 0.0);
  // Repeated tokens count once per match.
  EXPECT_DOUBLE_EQ(qa_f1_score("paris paris", "paris"), 2 * 0.5 * 1 / 1.5);
  EXPECT_DOUBLE_EQ(best_f1("Paris", {"London", "Paris"}), 1.0);
}

TEST(Metrics, LogitAgreementAndPerplexity) {
  // Two positions, vocab 3. Identical rows: KL 0, top-1 1.
  std::vector<float> a{1, 2, 3, 0, 0, 5}, b = a;
  LogitAgreement same = compare_logits(a, b, 3);
  EXPECT_NEAR(same.kl, 0, 1e-12);
  EXPECT_EQ(same.top1, 1);
  b = {3, 2, 1, 0, 0, 5};  // first row's argmax differs
  LogitAgreement diff = compare_logits(a, b, 3);
  EXPECT_EQ(diff.top1, 0.5);
  // KL of the first row by hand: p = softmax(1,2,3), q = softmax(3,2,1).
  double zp = std::exp(1) + std::exp(2) + std::exp(3);
  double kl = 0;
  for (int i = 0; i < 3; ++i) {
    double p = std::exp(1 + i) / zp, q = std::exp(3 - i) / zp;
    kl += p * std::log(p / q);
  }
  EXPECT_NEAR(diff.kl, kl / 2, 1e-12);
  EXPECT_THROW(compare_logits(a, {1, 2}, 3), Error);
  // Uniform logits: perplexity = vocab.
  EXPECT_NEAR(perplexity({0, 0, 0, 0, 0, 0, 0, 0}, {1, 3}, 4), 4.0, 1e-12);
  EXPECT_THROW(perplexity({0, 0}, {1, 3}, 4), Error);
}

}  // namespace
}  // namespace cachegen
