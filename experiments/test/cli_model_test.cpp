// kv, generate and perplexity end to end, on a random-weight Llama checkpoint and a byte-level
// tokenizer made by the models' reference scripts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cachegen/core/kv_io.h"

namespace cachegen {
namespace {

struct Result {
  int exit_code;
  std::string output;
};

Result run(const std::string& arguments) {
  FILE* pipe = popen((std::string(CACHEGEN_BIN) + " " + arguments + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
    output.append(buffer, n);
  return {WEXITSTATUS(pclose(pipe)), output};
}

TEST(CliModel, KvGenerateAndPerplexity) {
  const std::string dir = ::testing::TempDir() + "/cli_model_" + std::to_string(getpid());
  const std::string python = CACHEGEN_PYTHON;
  ASSERT_EQ(std::system((python + " " + CACHEGEN_MAKE_REFERENCE + " " + dir +
                         " > /dev/null 2>&1 && " + python + " " + CACHEGEN_MAKE_TOKENIZERS + " " +
                         dir + "/tok > /dev/null 2>&1 && cp " + dir + "/tok/llama3.json " + dir +
                         "/llama/tokenizer.json")
                            .c_str()),
            0);
  const std::string model = "--model " + dir + "/llama";
  std::ofstream(dir + "/text.txt") << "In the beginning God created the heaven and the earth.";
  Result kv = run("kv " + model + " --text " + dir + "/text.txt --out " + dir + "/kv.safetensors");
  ASSERT_EQ(kv.exit_code, 0) << kv.output;
  KVCache cache = load_kv(dir + "/kv.safetensors");
  EXPECT_EQ(cache.shape().layers, 3);
  EXPECT_EQ(cache.shape().kv_heads, 2);
  Result gen = run("generate " + model + " --prompt-file " + dir + "/text.txt --max-new-tokens 5");
  EXPECT_EQ(gen.exit_code, 0) << gen.output;
  Result ppl = run("perplexity " + model + " --text " + dir + "/text.txt --json");
  ASSERT_EQ(ppl.exit_code, 0) << ppl.output;
  EXPECT_NE(ppl.output.find("\"perplexity\""), std::string::npos);
  EXPECT_NE(ppl.output.find("\"tokens\""), std::string::npos);
  Result missing = run("perplexity --model " + dir + " --text " + dir + "/text.txt");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("has no config.json"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace cachegen
