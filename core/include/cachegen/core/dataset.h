// The Dataset interface: the requests of a sweep, each a context (whose KV is streamed) and what
// follows it (a question and its accepted answers, or text scored by perplexity).
// Implementations (experiments/src/datasets/) register themselves in dataset_registry() with
// their options (e.g. `path`); configs write `dataset: "NAME[:KEY=VALUE;...]"`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/language_model.h"
#include "cachegen/core/registry.h"

namespace cachegen {

// How a request's answer is scored. kAccuracy: the reply equals an answer; kContains: it contains
// one; kNumber: its first number equals one; kLastNumber: its last number equals one as an
// integer (LongEval's rule, longeval/utils.py); kF1: LongBench's token F1; kPerplexity: of the
// continuation.
enum class QualityMetric { kAccuracy, kContains, kNumber, kLastNumber, kF1, kPerplexity };

struct DatasetRequest {
  std::vector<int32_t> context;       // BOS first
  std::vector<int32_t> question;      // prefilled on the context's KV (empty for text datasets)
  std::vector<std::string> answers;   // accepted answers (QA)
  std::string answer_end = "\n";      // the reply is cut at its first occurrence
  std::vector<int32_t> continuation;  // text datasets: the tokens scored after the context
  QualityMetric metric = QualityMetric::kAccuracy;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Request `seed` (deterministic) with a context of about context_tokens tokens (exactly, for
  // text datasets and long enough files) and, for text, eval_tokens scored after it.
  virtual DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t eval_tokens) = 0;
};

// Datasets by name, created for the tokenizer of the model that will read them.
using DatasetRegistry = Registry<Dataset, const TextTokenizer&>;
DatasetRegistry& dataset_registry();

}  // namespace cachegen
