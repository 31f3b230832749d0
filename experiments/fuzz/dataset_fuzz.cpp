// libFuzzer target: the dataset files a config names (`dataset: NAME:path=FILE`). The first
// byte picks the reader (longchat or longbench JSONL, the needle haystack, plain text); the
// rest is the file. Each dataset that loads serves a few requests with the built-in model's
// tokenizer. Malformed files must raise cachegen::Error, and a served request must hold a
// context that starts with BOS (when the tokenizer has one), no longer than asked for, and, for
// text, the scored continuation. Seeds: experiments/fuzz/corpus/dataset/.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/core/options.h"
#include "cachegen/models/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static const char* const kNames[] = {"longchat", "longbench", "needle", "text"};
  static const cachegen::Tokenizer tokenizer =
      cachegen::Tokenizer::load(CACHEGEN_SOURCE_DIR "/models/builtin/tokenizer.json");
  static const std::string path = "/tmp/cachegen_fuzz_dataset_" + std::to_string(getpid());
  const std::string name = kNames[data[0] % 4];
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data) + 1, static_cast<std::streamsize>(size - 1));
  }
  try {
    std::unique_ptr<cachegen::Dataset> dataset = cachegen::dataset_registry().create(
        name, cachegen::Options::parse("path=" + path, "dataset"), tokenizer);
    for (uint64_t seed : {0, 7}) {
      for (int64_t context_tokens : {40, 300}) {
        const cachegen::DatasetRequest r = dataset->request(seed, context_tokens, 8);
        const bool text = r.metric == cachegen::QualityMetric::kPerplexity;
        if (r.context.empty() ||
            (tokenizer.bos_id() >= 0 && r.context.front() != tokenizer.bos_id()) ||
            static_cast<int64_t>(r.context.size()) > context_tokens ||
            (text && r.continuation.empty()) || (!text && r.answers.empty()))
          __builtin_trap();
      }
    }
  } catch (const cachegen::Error&) {
  }
  return 0;
}
