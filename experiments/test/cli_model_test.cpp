// kv, generate and perplexity end to end, on a random-weight Llama checkpoint and a byte-level
// tokenizer made by the models' reference scripts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cachegen/core/kv_io.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/tokenizer.h"
#include "hf_fixtures.h"
#include "run_cli.h"

namespace cachegen {
namespace {

using Result = CliResult;
Result run(const std::string& arguments) {
  return run_cli(arguments);
}

TEST(CliModel, KvGenerateAndPerplexity) {
  const std::string dir = ::testing::TempDir() + "/cli_model_" + std::to_string(getpid());
  const std::string reference = hf_fixture_dir("reference"),
                    tokenizers = hf_fixture_dir("tokenizers");
  ASSERT_FALSE(reference.empty() || tokenizers.empty());
  // A random-weight Llama checkpoint with a byte-level tokenizer, in a directory of its own.
  ASSERT_EQ(std::system(("mkdir -p " + dir + " && cp -r " + reference + "/llama " + dir +
                         " && cp " + tokenizers + "/llama3.json " + dir + "/llama/tokenizer.json")
                            .c_str()),
            0);
  const std::string model = "--model " + dir + "/llama";
  std::ofstream(dir + "/text.txt") << "In the beginning God created the heaven and the earth.";
  Result kv = run("kv " + model + " --text " + dir + "/text.txt --out " + dir + "/kv.safetensors");
  ASSERT_EQ(kv.exit_code, 0) << kv.output;
  KVCache cache = load_kv(dir + "/kv.safetensors");
  EXPECT_EQ(cache.shape().layers, 3);
  EXPECT_EQ(cache.shape().kv_heads, 2);
  {  // --max-tokens keeps the first N tokens: the same KV as those tokens' rows of the whole.
    Result cut = run("kv " + model + " --text " + dir + "/text.txt --max-tokens 5 --out " + dir +
                     "/kv5.safetensors");
    ASSERT_EQ(cut.exit_code, 0) << cut.output;
    const KVCache first = load_kv(dir + "/kv5.safetensors");
    ASSERT_EQ(first.shape().tokens, 5);
    ASSERT_GT(cache.shape().tokens, 5);
    const KVCache head = cache.slice_tokens(0, 5);
    for (int64_t l = 0; l < 3; ++l)
      for (int kind = 0; kind < 2; ++kind)
        for (int64_t t = 0; t < 5; ++t)
          for (int64_t c = 0; c < head.shape().channels(); ++c)
            EXPECT_NEAR(first.at(l, kind, t, c), head.at(l, kind, t, c), 1e-5);
    EXPECT_NE(run("kv " + model + " --text " + dir + "/text.txt --max-tokens -1 --out " + dir +
                  "/kv_bad.safetensors")
                  .output.find("--max-tokens must be >= 0"),
              std::string::npos);
  }
  Result gen = run("generate " + model + " --prompt-file " + dir + "/text.txt --max-new-tokens 5");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  {  // The reply is the library's greedy continuation (itself checked against transformers).
    auto llama = LlamaModel::load(dir + "/llama", ModelLoadOptions{"cpu", "", 1});
    Tokenizer tokenizer = Tokenizer::load(dir + "/llama/tokenizer.json");
    std::vector<int32_t> ids;
    if (tokenizer.bos_id() >= 0)
      ids.push_back(tokenizer.bos_id());
    for (int32_t id : tokenizer.encode("In the beginning God created the heaven and the earth."))
      ids.push_back(id);
    const std::vector<int32_t> greedy =
        llama->generate(ids, nullptr, 5, static_cast<int32_t>(llama->config().eos_token_id));
    EXPECT_FALSE(greedy.empty());
    EXPECT_EQ(gen.output, tokenizer.decode(greedy) + "\n");
  }
  Result ppl = run("perplexity " + model + " --text " + dir + "/text.txt --json");
  ASSERT_EQ(ppl.exit_code, 0) << ppl.output;
  EXPECT_NE(ppl.output.find("\"perplexity\""), std::string::npos);
  EXPECT_NE(ppl.output.find("\"tokens\""), std::string::npos);
  Result missing = run("perplexity --model " + dir + " --text " + dir + "/text.txt");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("is neither a named checkpoint nor a directory with config.json"),
            std::string::npos)
      << missing.output;
}

// retrieval-eval on official-format LongEval prompts: the count it reports is that of replies
// whose last number is the expected one (the regex LongEval uses), and it names the format.
TEST(CliModel, RetrievalEvalScoresLongEvalPromptsByTheLastNumber) {
  const std::string file = CACHEGEN_SOURCE_DIR "/experiments/test/data/longchat.jsonl";
  Result r = run("retrieval-eval --model builtin --longeval " + file +
                 " --episodes 3 --max-new-tokens 12 --show --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("LongEval lines " + file + ", LongEval's last-number rule"),
            std::string::npos)
      << r.output;
  // Lines "episode N: reply '<reply>', answer '<digits>'"; the reply may hold quotes, so the
  // answer is found from the line's end. Plain string parsing: GCC 12's <regex> trips
  // -Wmaybe-uninitialized under the sanitizer build.
  int shown = 0, correct = 0;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    const std::string reply_mark = ": reply '", answer_mark = "', answer '";
    const size_t reply_at = line.find(reply_mark), answer_at = line.rfind(answer_mark);
    if (line.rfind("episode ", 0) != 0 || reply_at == std::string::npos ||
        answer_at == std::string::npos || answer_at < reply_at || line.back() != '\'')
      continue;
    ++shown;
    const std::string reply =
        line.substr(reply_at + reply_mark.size(), answer_at - reply_at - reply_mark.size());
    const size_t answer_begin = answer_at + answer_mark.size();
    const std::string answer = line.substr(answer_begin, line.size() - 1 - answer_begin);
    std::string last, run_of_digits;  // the reply's last run of digits
    for (char c : reply + ' ') {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        run_of_digits += c;
      } else if (!run_of_digits.empty()) {
        last = run_of_digits;
        run_of_digits.clear();
      }
    }
    last.erase(0, std::min(last.find_first_not_of('0'), last.size() - 1));  // int(): no zeros
    correct += !last.empty() && last == answer ? 1 : 0;
  }
  EXPECT_EQ(shown, 3);
  EXPECT_NE(r.output.find(": " + std::to_string(correct) + " / 3 correct"), std::string::npos)
      << r.output;
  Result missing = run("retrieval-eval --model builtin --longeval /nonexistent.jsonl");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent.jsonl"), std::string::npos) << missing.output;
}

// The streaming engine on the built-in model, with measured timing: recomputing every chunk
// from text gives the context's KV bit for bit (the same chunked prefill), so the reply is the
// uncompressed model's; lossy encodings give a non-zero KV error.
TEST(CliModel, StreamTheBuiltinModelsKv) {
  const std::string common =
      "stream --context-tokens 300 --chunk-tokens 128 --net bandwidth_gbps=0.01 --slo-s 5 --json ";
  Result text = run(common + "--controller text");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  auto t = nlohmann::json::parse(text.output);
  EXPECT_EQ(t["timing"], "measured");
  ASSERT_EQ(t["chunks"].size(), 1u);  // the whole context's text, one prefill
  EXPECT_EQ(t["chunks"][0]["store_chunks"], 3);
  EXPECT_EQ(t["kv_relative_error"].get<double>(), 0.0);
  EXPECT_GT(t["recompute_s"].get<double>(), 0.0);
  EXPECT_EQ(t["decode_s"].get<double>(), 0.0);
  Result lossy = run(common + "--controller fixed:encoding=cg1");
  ASSERT_EQ(lossy.exit_code, 0) << lossy.output;
  auto l = nlohmann::json::parse(lossy.output);
  EXPECT_GT(l["kv_relative_error"].get<double>(), 0.0);
  EXPECT_GT(l["decode_s"].get<double>(), 0.0);
  EXPECT_EQ(l["answer"], t["answer"]);
  EXPECT_TRUE(l.contains("correct"));
}

}  // namespace
}  // namespace cachegen
