// Context compression (context_compression.h) with the built-in model: spec parsing, LLMLingua's
// scores against the model's log-probabilities (themselves checked against transformers in
// models/), and a sweep that stacks H2O and LLMLingua under codecs, scored on the KV used.
#include "context_compression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/experiments/run_config.h"
#include "cachegen/experiments/runner.h"
#include "cachegen/experiments/stream_setup.h"

namespace cachegen {
namespace {

TEST(Compression, ParsesSpecsAndRejectsBadOnes) {
  EXPECT_TRUE(parse_compression_spec("none").none());
  const CompressionSpec h2o = parse_compression_spec("h2o:keep=0.25;recent=0.2;select=layer");
  EXPECT_EQ(h2o.kind, CompressionSpec::Kind::kH2o);
  EXPECT_DOUBLE_EQ(h2o.keep, 0.25);
  EXPECT_EQ(h2o.scope, SelectionScope::kLayer);
  EXPECT_EQ(h2o.kept_tokens(1000), 250);
  EXPECT_EQ(parse_compression_spec("llmlingua:keep=0.5;segment=64").segment, 64);
  for (const char* bad : {"h2o:keep=0", "h2o:keep=1.5", "h2o:select=token", "llmlingua:recent=1",
                          "zip:keep=0.5", "none:keep=1"}) {
    EXPECT_THROW(parse_compression_spec(bad), Error) << bad;
  }
}

std::unique_ptr<LanguageModel>& builtin() {
  static std::unique_ptr<LanguageModel> model = load_model(parse_model_spec("builtin"), 2);
  return model;
}

// Every token's score is -log p(token | kept prefix, the segment's earlier tokens): in one
// segment that is the model's log_probs of the context; in the next, of the kept tokens and it.
TEST(Compression, LlmlinguaScoresAreTheModelsSelfInformation) {
  LanguageModel& model = *builtin();
  const std::vector<int32_t> context = model.tokenizer()->encode(
      "The quick brown fox jumps over the lazy dog near the river bank "
      "while seven small birds sing in the old oak tree all morning.");
  std::vector<int32_t> ids{model.tokenizer()->bos_id()};
  ids.insert(ids.end(), context.begin(), context.end());
  CompressionSpec one = parse_compression_spec("llmlingua:keep=0.5;segment=1000");
  const LlmlinguaResult whole = llmlingua_compress(model, ids, one);
  const std::vector<double> log_probs = model.log_probs(ids, nullptr);
  ASSERT_EQ(whole.self_information.size(), ids.size());
  EXPECT_TRUE(std::isinf(whole.self_information[0]));
  for (size_t i = 1; i < ids.size(); ++i)
    EXPECT_NEAR(whole.self_information[i], -log_probs[i - 1], 1e-4) << i;
  const auto kept_count = static_cast<size_t>(1 + std::llround(0.5 * double(ids.size() - 1)));
  EXPECT_EQ(whole.kept.size(), kept_count);
  EXPECT_EQ(whole.kept.front(), ids.front());

  CompressionSpec two = parse_compression_spec("llmlingua:keep=0.5;segment=10");
  const LlmlinguaResult segmented = llmlingua_compress(model, ids, two);
  // The first segment (tokens 1..10) is scored as before; the second on the kept prefix.
  for (size_t i = 1; i <= 10; ++i)
    EXPECT_NEAR(segmented.self_information[i], whole.self_information[i], 1e-4);
  std::vector<int32_t> prefix(segmented.kept.begin(), segmented.kept.begin() + 6);  // BOS + 5
  std::vector<int32_t> second(prefix);
  second.insert(second.end(), ids.begin() + 11, ids.begin() + 21);
  const std::vector<double> second_lp = model.log_probs(second, nullptr);
  for (size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(segmented.self_information[11 + i], -second_lp[prefix.size() - 1 + i], 1e-4) << i;
  // The kept tokens are each segment's highest-scoring, in order.
  for (size_t s = 0; s < 2; ++s) {
    double lowest_kept = INFINITY, highest_dropped = -INFINITY;
    std::vector<int32_t> kept_here(segmented.kept.begin() + 1 + 5 * static_cast<long>(s),
                                   segmented.kept.begin() + 6 + 5 * static_cast<long>(s));
    size_t next = 0;
    for (size_t i = 1 + 10 * s; i < 11 + 10 * s; ++i) {
      if (next < kept_here.size() && ids[i] == kept_here[next]) {
        lowest_kept = std::min(lowest_kept, segmented.self_information[i]);
        ++next;
      } else {
        highest_dropped = std::max(highest_dropped, segmented.self_information[i]);
      }
    }
    EXPECT_EQ(next, kept_here.size());
    EXPECT_GE(lowest_kept, highest_dropped);
  }
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A sweep stacking each compression under a codec: kept tokens and bytes shrink with `keep`,
// bits are counted per element of the whole context, and quality is measured on the KV used
// (H2O at keep=1 keeps everything: exactly the uncompressed result).
TEST(Compression, SweepStacksCompressionUnderCodecs) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "/compression_" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir + "/c.yaml") << R"(name: c
model: builtin
dataset: line_retrieval
context_tokens: 300
chunk_tokens: 128
requests: 2
encoding: q8
encodings:
  q8: quant:bits=8
sweep:
  compression: [none, "h2o:keep=1", "h2o:keep=0.5", "h2o:keep=0.5;select=model", "llmlingua:keep=0.5"]
)";
  RunOptions options;
  options.out_dir = dir + "/out";
  options.progress = false;
  run_sweep(load_run_config(dir + "/c.yaml"), options);
  write_summary(options.out_dir);
  const auto summary = nlohmann::json::parse(read(options.out_dir + "/summary.json"));
  ASSERT_EQ(summary["points"].size(), 5u);
  auto point = [&](int i, const char* key) {
    const auto& value = summary["points"][i][key];
    return value.is_string() ? std::stod(value.get<std::string>()) : value.get<double>();
  };
  EXPECT_EQ(point(1, "kv_bytes"), point(0, "kv_bytes"));
  EXPECT_EQ(point(1, "kl"), point(0, "kl"));
  EXPECT_EQ(point(1, "accuracy"), point(0, "accuracy"));
  for (int i : {2, 3, 4}) {
    EXPECT_LT(point(i, "kv_tokens"), 0.6 * point(0, "kv_tokens")) << i;
    EXPECT_LT(point(i, "bits_per_element"), 0.6 * point(0, "bits_per_element")) << i;
    EXPECT_GT(point(i, "kl"), point(0, "kl")) << i;
  }
  // H2O's kept-token counts are exact; per head and one shared set keep the same number.
  EXPECT_EQ(point(2, "kv_tokens"), point(3, "kv_tokens"));
  // Invalid: H2O with a controller that may pick text.
  std::ofstream(dir + "/bad.yaml") << "model: builtin\ncompression: \"h2o:keep=0.5\"\n";
  EXPECT_THROW(load_run_config(dir + "/bad.yaml"), Error);
}

}  // namespace
}  // namespace cachegen
