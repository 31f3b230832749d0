// needle: the pass key test of Mohtashami and Jaggi (2023) on real text. A pass key sentence is
// hidden at a seeded position of a seeded window of a plain-text haystack (by default the
// Debian documents of scripts/make_documents.sh), and the model is asked for the key after the
// context. The context is exactly context_tokens tokens, BOS included. Accuracy: the first
// number of the reply is the key (exact match).
#include <filesystem>
#include <random>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "dataset_tokens.h"

namespace cachegen {

namespace {
const char kDocuments[] = "results/real-text/documents.txt";  // relative to the working directory

class NeedleDataset : public Dataset {
 public:
  NeedleDataset(const std::string& path, const TextTokenizer& tokenizer, double depth)
      : path_(path), tokenizer_(tokenizer), depth_(depth) {
    std::error_code error;
    if (path == kDocuments && !std::filesystem::is_regular_file(path, error))
      fail("dataset 'needle': ", path, " is missing; scripts/make_documents.sh makes it");
    std::vector<uint8_t> bytes = read_file(path);
    haystack_ = tokenizer.encode(std::string(bytes.begin(), bytes.end()));
  }

  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t) override {
    std::mt19937_64 rng(seed);
    const std::string key = std::to_string(std::uniform_int_distribution<int>(10000, 99999)(rng));
    const std::vector<int32_t> needle = tokenizer_.encode(
        "\nThe pass key is " + key + ". Remember it. " + key + " is the pass key.\n");
    const int64_t bos = tokenizer_.bos_id() >= 0 ? 1 : 0;
    const int64_t text = context_tokens - bos - static_cast<int64_t>(needle.size());
    const auto available = static_cast<int64_t>(haystack_.size());
    if (text < 1 || text > available) {
      fail(path_, ": needle contexts of ", context_tokens, " tokens need ",
           std::max<int64_t>(1, text), " haystack tokens beside the ", needle.size(),
           "-token needle; the file has ", available);
    }
    const auto offset = std::uniform_int_distribution<int64_t>(0, available - text)(rng);
    const double depth = depth_ >= 0 ? depth_ : std::uniform_real_distribution<double>(0, 1)(rng);
    // The needle goes after the first line end at or past the drawn depth, so that it never
    // splits a word (at the very end if the rest has no line break).
    const auto begin = haystack_.begin() + offset;
    int64_t at = static_cast<int64_t>(depth * static_cast<double>(text));
    while (at < text && at > 0 && tokenizer_.decode({begin[at - 1]}).back() != '\n')
      ++at;
    std::vector<int32_t> context(begin, begin + at);
    context.insert(context.end(), needle.begin(), needle.end());
    context.insert(context.end(), begin + at, begin + text);
    DatasetRequest r;
    r.context = with_bos(tokenizer_, std::move(context));
    r.question = tokenizer_.encode("\nWhat is the pass key? The pass key is");
    r.answers = {key};
    r.metric = QualityMetric::kNumber;
    return r;
  }

 private:
  std::string path_;
  const TextTokenizer& tokenizer_;
  double depth_;
  std::vector<int32_t> haystack_;
};
}  // namespace

CACHEGEN_REGISTER(dataset_registry(),
                  {"needle",
                   "a pass key hidden in real text (Mohtashami & Jaggi 2023); exact-match accuracy",
                   {file_option("path", "the haystack, any plain text file", kDocuments),
                    number_option("depth", -1, -1, 1,
                                  "where the key sits, 0 (start) to 1 (end); -1: seeded")},
                   nullptr,
                   "path=experiments/test/data/sample.txt"},
                  [](const Options& options, const TextTokenizer& tokenizer) {
                    return std::make_unique<NeedleDataset>(options.text("path"), tokenizer,
                                                           options.number("depth"));
                  });

}  // namespace cachegen
