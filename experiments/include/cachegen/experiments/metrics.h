// Quality metrics of a request served from streamed (possibly lossy) KV: exact-match accuracy,
// LongBench's F1, perplexity, and the KL divergence and top-1 agreement of the next-token
// distributions against the same model on the uncompressed KV.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cachegen/core/dataset.h"

namespace cachegen {

// LongBench's normalize_answer: lower case, punctuation and the articles a/an/the removed,
// whitespace collapsed.
std::string normalize_answer(const std::string& text);
// LongBench's qa_f1_score: token-level F1 of the normalised prediction against one truth.
double qa_f1_score(const std::string& prediction, const std::string& truth);
// The best F1 over the accepted answers (LongBench scores the max).
double best_f1(const std::string& prediction, const std::vector<std::string>& answers);

// The first run of decimal digits in `reply` ("" if none): the needle dataset's answer.
std::string first_number(const std::string& reply);

// The last run of decimal digits in `reply` ("" if none), leading zeros dropped ("0" stays):
// LongEval's `int(re.findall("\\d+", output)[-1])` as a string.
std::string last_number(const std::string& reply);

// Whether `reply` answers correctly under `metric` (kAccuracy, kContains, kNumber,
// kLastNumber), given the
// accepted answers.
bool answer_is_correct(const std::string& reply, const std::vector<std::string>& answers,
                       QualityMetric metric);

// 95% Wilson score interval of a rate of `hits` in `trials` (z = 1.96); trials may be
// fractional (an effective sample size). {0, 1} for no trials.
std::pair<double, double> wilson_interval(double hits, double trials);

// Next-token distributions compared position by position; logits are [positions, vocab].
struct LogitAgreement {
  double kl = 0;    // mean KL(reference || test) in nats
  double top1 = 0;  // share of positions whose argmax agrees
};
LogitAgreement compare_logits(const std::vector<float>& reference, const std::vector<float>& test,
                              int64_t vocab);

// exp(mean negative log-likelihood) of targets[i] under logits row i; logits [n, vocab].
double perplexity(const std::vector<float>& logits, const std::vector<int32_t>& targets,
                  int64_t vocab);

}  // namespace cachegen
