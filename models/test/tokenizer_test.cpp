// The tokenizer against Hugging Face `tokenizers` on tokenizers trained at test time by
// make_tokenizers.py, one per style, and the built-in model's, on a text with Unicode, digits,
// tabs and runs of spaces.
#include "cachegen/models/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cachegen/core/error.h"
#include "hf_fixtures.h"

namespace cachegen {
namespace {

const std::string& tokenizer_dir() {
  static const std::string dir = hf_fixture_dir("tokenizers");
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TokenizerStyles : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerStyles, IdsMatchHuggingFaceAndDecodeBack) {
  ASSERT_FALSE(tokenizer_dir().empty()) << "make_tokenizers.py failed";
  const std::string base = tokenizer_dir() + "/" + GetParam();
  Tokenizer tok = Tokenizer::load(base + ".json");
  const std::string text = slurp(tokenizer_dir() + "/text.txt");
  std::vector<int32_t> expected;
  std::istringstream ids(slurp(base + ".ids"));
  for (int32_t id; ids >> id;)
    expected.push_back(id);
  std::vector<int32_t> got = tok.encode(text);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(tok.decode(got), text);
}

INSTANTIATE_TEST_SUITE_P(Styles, TokenizerStyles,
                         ::testing::Values("llama3", "qwen2", "gpt2", "llama2", "builtin"));

TEST(Tokenizer, SpecialTokensAreMatchedLiterally) {
  ASSERT_FALSE(tokenizer_dir().empty());
  Tokenizer tok = Tokenizer::load(tokenizer_dir() + "/llama3.json");
  std::vector<int32_t> ids = tok.encode("<|begin_of_text|>In the beginning");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], tok.token_id("<|begin_of_text|>"));
  std::vector<int32_t> rest = tok.encode("In the beginning");
  EXPECT_EQ(std::vector<int32_t>(ids.begin() + 1, ids.end()), rest);
}

TEST(Tokenizer, BadFilesNameTheKey) {
  std::string path = ::testing::TempDir() + "/bad_tokenizer.json";
  std::ofstream(path) << R"({"model": {"type": "Unigram", "vocab": []}})";
  try {
    Tokenizer::load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'model.type' is 'Unigram'"), std::string::npos)
        << e.what();
  }
  std::ofstream(path) << R"({"model": {"type": "BPE"}})";
  EXPECT_THROW(Tokenizer::load(path), Error);
  // Found by fuzz_tokenizer: an id of 2.7e94 (undefined behaviour converting it to int), and
  // negative or huge ids (a table of that size).
  for (const char* id : {"2.7e94", "-1", "2000000000", "\"7\""}) {
    std::ofstream(path) << R"({"model": {"type": "BPE", "vocab": {"a": )" << id
                        << R"(}, "merges": []}})";
    try {
      Tokenizer::load(path);
      ADD_FAILURE() << id;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("key 'model.vocab.a' must be a token id"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace cachegen
