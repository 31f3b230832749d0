// line_retrieval: the built-in LongChat-style line-retrieval records (models/line_retrieval.h)
// at any length; exact-match accuracy on the number.
#include <random>

#include "cachegen/core/dataset.h"
#include "cachegen/models/line_retrieval.h"
#include "dataset_tokens.h"

namespace cachegen {

namespace {
class LineRetrievalDataset : public Dataset {
 public:
  explicit LineRetrievalDataset(const TextTokenizer& tokenizer) : tokenizer_(tokenizer) {}
  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t) override {
    std::mt19937_64 rng(seed);
    // The BOS token is part of the budget.
    RetrievalEpisode e = make_retrieval_episode(tokenizer_, context_tokens - 1, rng);
    DatasetRequest r;
    r.context = with_bos(tokenizer_, tokenizer_.encode(e.context));
    r.question = tokenizer_.encode(e.question);
    r.answers = {e.answer};
    r.answer_end = retrieval_answer_end();
    r.metric = QualityMetric::kAccuracy;
    return r;
  }

 private:
  const TextTokenizer& tokenizer_;
};
}  // namespace

CACHEGEN_REGISTER(dataset_registry(),
                  {"line_retrieval",
                   "built-in LongChat-style line retrieval at any length; exact-match accuracy",
                   {}},
                  [](const Options&, const TextTokenizer& tokenizer) {
                    return std::make_unique<LineRetrievalDataset>(tokenizer);
                  });

}  // namespace cachegen
