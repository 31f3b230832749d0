// Dataset loaders on the built-in model's tokenizer: requests are deterministic in their seed,
// fit their token budget, and bad files fail naming the line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/models/tokenizer.h"

namespace cachegen {
namespace {

const std::string kTokenizer = CACHEGEN_SOURCE_DIR "/models/builtin/tokenizer.json";

std::unique_ptr<Dataset> make_dataset(const std::string& name, const std::string& path,
                                      const Tokenizer& tokenizer) {
  return dataset_registry().create(name, Options::parse(path.empty() ? "" : "path=" + path, "test"),
                                   tokenizer);
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/datasets_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Datasets, LineRetrievalIsDeterministicAndFits) {
  Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  auto dataset = make_dataset("line_retrieval", "", tokenizer);
  DatasetRequest a = dataset->request(7, 512, 0), b = dataset->request(7, 512, 0);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.answers, b.answers);
  EXPECT_LE(a.context.size(), 512u);
  EXPECT_GT(a.context.size(), 400u);
  EXPECT_EQ(a.context.front(), tokenizer.bos_id());
  EXPECT_EQ(a.answers.front().size(), 5u);
  EXPECT_NE(tokenizer.decode(a.context).find(a.answers.front()), std::string::npos);
  EXPECT_NE(dataset->request(8, 512, 0).context, a.context);
}

TEST(Datasets, NeedleHidesTheKeyInExactlySizedRealText) {
  Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "Line " + std::to_string(i) + " of the haystack says nothing in particular.\n";
  const std::string path = write_file("haystack.txt", text);
  auto dataset = make_dataset("needle", path, tokenizer);
  for (int64_t tokens : {int64_t{200}, int64_t{777}, int64_t{1500}}) {
    DatasetRequest r = dataset->request(11, tokens, 0);
    EXPECT_EQ(static_cast<int64_t>(r.context.size()), tokens);
    EXPECT_EQ(r.context.front(), tokenizer.bos_id());
    ASSERT_EQ(r.answers.size(), 1u);
    const std::string key = r.answers.front();
    EXPECT_EQ(key.size(), 5u);
    const std::string context = tokenizer.decode(r.context);
    // The needle sits on a line of its own, between whole lines of the haystack.
    EXPECT_NE(context.find("\nThe pass key is " + key + ". Remember it. " + key +
                           " is the pass key.\nLine "),
              std::string::npos)
        << context;
    EXPECT_EQ(r.metric, QualityMetric::kNumber);
    EXPECT_EQ(tokenizer.decode(r.question), "\nWhat is the pass key? The pass key is");
  }
  DatasetRequest a = dataset->request(5, 600, 0), b = dataset->request(5, 600, 0);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.answers, b.answers);
  EXPECT_NE(dataset->request(6, 600, 0).context, a.context);
  // Depth 0 puts the key first (after BOS), depth 1 last.
  auto first = dataset_registry().create("needle", Options::parse("path=" + path + ";depth=0", "t"),
                                         tokenizer);
  std::vector<int32_t> head = first->request(1, 300, 0).context;
  head.erase(head.begin());  // BOS
  EXPECT_EQ(tokenizer.decode(head).rfind("\nThe pass key is", 0), 0u);
  auto last = dataset_registry().create("needle", Options::parse("path=" + path + ";depth=1", "t"),
                                        tokenizer);
  const std::string end = tokenizer.decode(last->request(1, 300, 0).context);
  EXPECT_EQ(end.substr(end.size() - 18), " is the pass key.\n");
  // A haystack too short for the context fails naming the file.
  try {
    dataset->request(1, 100000, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Datasets, TextWindowsAreExact) {
  Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  std::string text;
  for (int i = 0; i < 400; ++i)
    text += "And the word " + std::to_string(i) + " was spoken unto the people.\n";
  auto dataset = make_dataset("text", write_file("text.txt", text), tokenizer);
  DatasetRequest r = dataset->request(3, 300, 50);
  EXPECT_EQ(r.context.size(), 300u);
  EXPECT_EQ(r.continuation.size(), 50u);
  EXPECT_EQ(r.metric, QualityMetric::kPerplexity);
  auto tiny = make_dataset("wikitext", write_file("tiny.txt", "too short"), tokenizer);
  EXPECT_THROW(tiny->request(1, 300, 50), Error);
}

TEST(Datasets, JsonlFormats) {
  Tokenizer tokenizer = Tokenizer::load(kTokenizer);
  std::string longbench = write_file(
      "lb.jsonl",
      R"({"context": "The capital of France is Paris.", "input": "What is the capital?", "answers": ["Paris"]})"
      "\n\n"
      R"({"context": "Water boils at 100 degrees.", "input": "When does water boil?", "answers": ["100 degrees", "at 100"]})"
      "\n");
  auto lb = make_dataset("longbench", longbench, tokenizer);
  DatasetRequest r = lb->request(1, 1000, 0);  // record 1 % 2
  EXPECT_EQ(r.answers, (std::vector<std::string>{"100 degrees", "at 100"}));
  EXPECT_EQ(r.metric, QualityMetric::kF1);
  EXPECT_EQ(tokenizer.decode(r.question), "Question: When does water boil?\nAnswer:");
  // A long context is cut in the middle to the budget.
  std::string long_context(4000, 'x');
  for (size_t i = 0; i < long_context.size(); i += 6)
    long_context[i] = ' ';
  std::string cut = write_file("cut.jsonl", "{\"context\": \"START" + long_context +
                                                "END\", \"input\": \"q\", \"answers\": [\"a\"]}\n");
  DatasetRequest c = make_dataset("longbench", cut, tokenizer)->request(0, 100, 0);
  EXPECT_EQ(c.context.size(), 100u);
  EXPECT_EQ(tokenizer.decode(c.context).substr(0, 5 + 17), "<|begin_of_text|>START");

  std::string longchat = write_file(
      "lc.jsonl",
      R"({"prompt": "line a: REGISTER_CONTENT is <123>\nline b: REGISTER_CONTENT is <456>\nTell me the REGISTER_CONTENT in line b.", "expected_number": 456})"
      "\n");
  DatasetRequest l = make_dataset("longchat", longchat, tokenizer)->request(0, 1000, 0);
  EXPECT_EQ(l.answers, (std::vector<std::string>{"456"}));
  EXPECT_EQ(tokenizer.decode(l.question), "Tell me the REGISTER_CONTENT in line b.");
  EXPECT_EQ(l.metric, QualityMetric::kLastNumber);

  std::string bad = write_file("bad.jsonl", "{\"context\": 1}\n{not json\n");
  try {
    make_dataset("longbench", bad, tokenizer);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(bad + " line 1: longbench record needs a string 'context'"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_dataset("imdb", "", tokenizer), Error);
}

}  // namespace
}  // namespace cachegen
