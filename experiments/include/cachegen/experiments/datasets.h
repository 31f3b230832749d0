// The requests of a sweep: a context (whose KV is streamed) and what follows it.
//   line_retrieval  built in: LongChat-style line retrieval at any length; exact-match accuracy
//   text            a plain text file (e.g. the held-out corpus): perplexity after the context
//   wikitext        a WikiText raw file: perplexity after the context
//   longchat        JSONL: LongEval "lines" records {prompt, expected_number} (the question is
//                   the prompt's last line), or {context, question, answer(s)}; accuracy: the
//                   reply contains the answer
//   longbench       JSONL: LongBench records {context, input, answers} (TriviaQA, NarrativeQA);
//                   F1 (qa_f1_score); prompt "{context}\n\nQuestion: {input}\nAnswer:"
// File contexts longer than context_tokens are cut in the middle, as LongBench does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cachegen {

const std::vector<std::string>& dataset_names();
bool dataset_needs_file(const std::string& name);

enum class QualityMetric { kAccuracy, kContains, kF1, kPerplexity };
const char* quality_metric_column(QualityMetric metric);  // "accuracy", "f1", "perplexity"

struct DatasetRequest {
  std::vector<int32_t> context;       // BOS first
  std::vector<int32_t> question;      // prefilled on the context's KV ("" for text datasets)
  std::vector<std::string> answers;   // accepted answers (QA)
  std::vector<int32_t> continuation;  // text datasets: the tokens scored after the context
  QualityMetric metric = QualityMetric::kAccuracy;
};

}  // namespace cachegen

#if CACHEGEN_HAVE_TORCH
#include "cachegen/models/tokenizer.h"

namespace cachegen {

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Request `seed` (deterministic) with a context of about context_tokens tokens (exactly, for
  // text datasets and long enough files) and, for text, eval_tokens scored after it.
  virtual DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t eval_tokens) = 0;
};

std::unique_ptr<Dataset> make_dataset(const std::string& name, const std::string& path,
                                      const Tokenizer& tokenizer);

}  // namespace cachegen
#endif
