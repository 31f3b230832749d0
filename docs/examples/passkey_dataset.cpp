// Example dataset (docs/extending.md): `passkey`, the passkey-retrieval test of Mohtashami and
// Jaggi (2023): a five-digit pass key hidden in repeated filler text at a seeded (or given)
// depth; the model is asked for it. Accuracy: the reply contains the key.
//
// As a real plug-in this file goes into experiments/src/datasets/; here it is compiled into
// the dataset conformance test only.
#include <random>

#include "cachegen/core/dataset.h"
#include "dataset_tokens.h"

namespace cachegen {

namespace {
const char kFiller[] =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back "
    "again. ";

class PasskeyDataset : public Dataset {
 public:
  PasskeyDataset(const TextTokenizer& tokenizer, double depth)
      : tokenizer_(tokenizer), depth_(depth) {}

  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t) override {
    std::mt19937_64 rng(seed);
    const std::string key = std::to_string(std::uniform_int_distribution<int>(10000, 99999)(rng));
    const double depth = depth_ >= 0 ? depth_ : std::uniform_real_distribution<double>(0, 1)(rng);
    const std::vector<int32_t> filler = tokenizer_.encode(kFiller);
    const std::vector<int32_t> needle = tokenizer_.encode(
        "The pass key is " + key + ". Remember it. " + key + " is the pass key. ");
    // Filler repeats around the needle while the whole fits the budget (BOS included).
    const auto budget = static_cast<size_t>(context_tokens - 1);
    const size_t repeats =
        budget > needle.size() ? (budget - needle.size()) / std::max<size_t>(1, filler.size()) : 0;
    const auto before = static_cast<size_t>(depth * static_cast<double>(repeats));
    std::vector<int32_t> context;
    for (size_t i = 0; i < repeats; ++i) {
      if (i == before)
        context.insert(context.end(), needle.begin(), needle.end());
      context.insert(context.end(), filler.begin(), filler.end());
    }
    if (before >= repeats)
      context.insert(context.end(), needle.begin(), needle.end());
    DatasetRequest r;
    r.context = with_bos(tokenizer_, std::move(context));
    r.question = tokenizer_.encode("What is the pass key? The pass key is");
    r.answers = {key};
    r.metric = QualityMetric::kContains;
    return r;
  }

 private:
  const TextTokenizer& tokenizer_;
  double depth_;
};
}  // namespace

CACHEGEN_REGISTER(dataset_registry(),
                  {"passkey",
                   "example: a pass key hidden in filler text (Mohtashami & Jaggi 2023)",
                   {number_option("depth", -1, -1, 1,
                                  "where the key sits, 0 (start) to 1 (end); -1: seeded")}},
                  [](const Options& options, const TextTokenizer& tokenizer) {
                    return std::make_unique<PasskeyDataset>(tokenizer, options.number("depth"));
                  });

}  // namespace cachegen
