// text and wikitext: a plain text file (e.g. the held-out corpus, a WikiText raw file); the
// request is a window at a seeded offset, scored by perplexity on the tokens after the context.
#include <random>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "dataset_tokens.h"

namespace cachegen {

namespace {
class TextDataset : public Dataset {
 public:
  TextDataset(const std::string& path, const TextTokenizer& tokenizer)
      : path_(path), tokenizer_(tokenizer) {
    std::vector<uint8_t> bytes = read_file(path);
    tokens_ = tokenizer.encode(std::string(bytes.begin(), bytes.end()));
  }
  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t eval_tokens) override {
    const int64_t window = context_tokens - 1 + eval_tokens;
    if (static_cast<int64_t>(tokens_.size()) < window) {
      fail(path_, ": ", tokens_.size(), " tokens, fewer than context_tokens + eval_tokens (",
           window + 1, ")");
    }
    std::mt19937_64 rng(seed);
    const auto offset = std::uniform_int_distribution<int64_t>(
        0, static_cast<int64_t>(tokens_.size()) - window)(rng);
    auto at = tokens_.begin() + offset;
    DatasetRequest r;
    r.context = with_bos(tokenizer_, std::vector<int32_t>(at, at + context_tokens - 1));
    r.continuation.assign(at + context_tokens - 1, at + window);
    r.metric = QualityMetric::kPerplexity;
    return r;
  }

 private:
  std::string path_;
  const TextTokenizer& tokenizer_;
  std::vector<int32_t> tokens_;
};

PluginInfo text_info(const std::string& name, const std::string& what) {
  return {name,
          what + "; perplexity on eval_tokens after the context",
          {file_option("path", "the text file (required)")},
          require_path,
          "path=experiments/test/data/sample.txt"};
}

std::unique_ptr<Dataset> make_text(const Options& options, const TextTokenizer& tokenizer) {
  return std::make_unique<TextDataset>(options.text("path"), tokenizer);
}
}  // namespace

CACHEGEN_REGISTER(dataset_registry(), text_info("text", "a plain text file"), make_text);
CACHEGEN_REGISTER(dataset_registry(), text_info("wikitext", "a WikiText raw file"), make_text);

}  // namespace cachegen
