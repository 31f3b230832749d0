#include "cachegen/experiments/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>

#include "cachegen/core/error.h"

namespace cachegen {

std::string normalize_answer(const std::string& text) {
  // Python's string.punctuation, removed; then lower case, articles out, whitespace collapsed.
  static const std::string kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  std::string cleaned;
  for (char c : text) {
    if (kPunctuation.find(c) == std::string::npos)
      cleaned += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::istringstream words(cleaned);
  std::string word, out;
  while (words >> word) {
    if (word == "a" || word == "an" || word == "the")
      continue;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

double qa_f1_score(const std::string& prediction, const std::string& truth) {
  auto tokens = [](const std::string& text) {
    std::istringstream in(normalize_answer(text));
    std::vector<std::string> out;
    std::string w;
    while (in >> w)
      out.push_back(w);
    return out;
  };
  std::vector<std::string> p = tokens(prediction), t = tokens(truth);
  std::map<std::string, int64_t> counts;
  for (const std::string& w : t)
    ++counts[w];
  int64_t same = 0;
  for (const std::string& w : p) {
    if (counts[w] > 0) {
      --counts[w];
      ++same;
    }
  }
  if (same == 0)
    return 0;
  const double precision = static_cast<double>(same) / static_cast<double>(p.size());
  const double recall = static_cast<double>(same) / static_cast<double>(t.size());
  return 2 * precision * recall / (precision + recall);
}

double best_f1(const std::string& prediction, const std::vector<std::string>& answers) {
  double best = 0;
  for (const std::string& a : answers)
    best = std::max(best, qa_f1_score(prediction, a));
  return best;
}

std::string first_number(const std::string& reply) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t begin = 0;
  while (begin < reply.size() && !digit(reply[begin]))
    ++begin;
  size_t end = begin;
  while (end < reply.size() && digit(reply[end]))
    ++end;
  return reply.substr(begin, end - begin);
}

std::string last_number(const std::string& reply) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t end = reply.size();
  while (end > 0 && !digit(reply[end - 1]))
    --end;
  size_t begin = end;
  while (begin > 0 && digit(reply[begin - 1]))
    --begin;
  while (begin + 1 < end && reply[begin] == '0')
    ++begin;
  return reply.substr(begin, end - begin);
}

// 95% Wilson score interval of a rate of `hits` in n trials (z = 1.96).
// n may be fractional (an effective sample size).
std::pair<double, double> wilson_interval(double hits, double trials) {
  if (trials <= 0)
    return {0.0, 1.0};
  const double z = 1.96, p = hits / trials;
  const double centre = (p + z * z / (2 * trials)) / (1 + z * z / trials);
  const double half =
      z * std::sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials);
  // (The bounds at 0 and n hits are 0 and 1 exactly; rounding would put them just inside.)
  return {hits == 0 ? 0.0 : std::max(0.0, centre - half),
          hits == trials ? 1.0 : std::min(1.0, centre + half)};
}

bool answer_is_correct(const std::string& reply, const std::vector<std::string>& answers,
                       QualityMetric metric) {
  for (const std::string& answer : answers) {
    switch (metric) {
      case QualityMetric::kAccuracy:
        if (reply == answer)
          return true;
        break;
      case QualityMetric::kContains:
        if (reply.find(answer) != std::string::npos)
          return true;
        break;
      case QualityMetric::kNumber:
        if (first_number(reply) == answer)
          return true;
        break;
      case QualityMetric::kLastNumber: {
        const std::string got = last_number(reply);
        if (!got.empty() && got == last_number(answer))
          return true;
        break;
      }
      default:
        fail("answer_is_correct: the metric is not a right-or-wrong one");
    }
  }
  return false;
}

namespace {
// log-softmax of one row, in double.
std::vector<double> log_softmax(const float* row, int64_t vocab) {
  double top = row[0];
  for (int64_t v = 1; v < vocab; ++v)
    top = std::max(top, static_cast<double>(row[v]));
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(static_cast<double>(row[v]) - top);
  const double log_sum = top + std::log(sum);
  std::vector<double> out(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v)
    out[static_cast<size_t>(v)] = static_cast<double>(row[v]) - log_sum;
  return out;
}
}  // namespace

LogitAgreement compare_logits(const std::vector<float>& reference, const std::vector<float>& test,
                              int64_t vocab) {
  if (vocab < 1 || reference.size() != test.size() ||
      reference.size() % static_cast<size_t>(vocab) != 0 || reference.empty()) {
    fail("compare_logits: ", reference.size(), " and ", test.size(),
         " logits are not the same number of rows of ", vocab);
  }
  const auto rows = static_cast<int64_t>(reference.size()) / vocab;
  LogitAgreement out;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = reference.data() + r * vocab;
    const float* b = test.data() + r * vocab;
    std::vector<double> p = log_softmax(a, vocab), q = log_softmax(b, vocab);
    double kl = 0;
    for (size_t v = 0; v < p.size(); ++v)
      kl += std::exp(p[v]) * (p[v] - q[v]);
    out.kl += kl;
    out.top1 += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b ? 1 : 0;
  }
  out.kl /= static_cast<double>(rows);
  out.top1 /= static_cast<double>(rows);
  return out;
}

double perplexity(const std::vector<float>& logits, const std::vector<int32_t>& targets,
                  int64_t vocab) {
  if (targets.empty() || logits.size() != targets.size() * static_cast<size_t>(vocab))
    fail("perplexity: ", logits.size(), " logits for ", targets.size(), " targets of ", vocab);
  double nll = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    std::vector<double> row = log_softmax(logits.data() + i * static_cast<size_t>(vocab), vocab);
    nll -= row.at(static_cast<size_t>(targets[i]));
  }
  return std::exp(nll / static_cast<double>(targets.size()));
}

}  // namespace cachegen
