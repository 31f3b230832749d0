// The Hugging Face references the model tests compare against: random-weight checkpoints with
// transformers' outputs (make_hf_reference.py) and tokenizers trained with `tokenizers`
// (make_tokenizers.py). ctest generates them once per run, in the fixture test `hf_fixtures`
// (models/test/make_hf_fixtures.sh), into CACHEGEN_HF_FIXTURES; a test binary run by hand,
// without the fixture, generates them once per process instead.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace cachegen {

// A shell command's exit status (as pclose gives it) and standard output.
struct CommandOutput {
  int status = -1;
  std::string output;
};
inline CommandOutput run_command(const std::string& command) {
  CommandOutput out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe)
    return out;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe))
    out.output += buffer;
  out.status = pclose(pipe);
  return out;
}

// The directory holding `what` ("reference", "tokenizers" or "smollm2"), or "" if generating it
// failed.
inline std::string hf_fixture_dir(const std::string& what) {
  const std::string shared = std::string(CACHEGEN_HF_FIXTURES) + "/" + what;
  std::error_code error;
  if (std::filesystem::exists(std::string(CACHEGEN_HF_FIXTURES) + "/.done", error) &&
      std::filesystem::exists(shared, error))
    return shared;
  const std::string out = ::testing::TempDir() + "/hf_" + what + "_" + std::to_string(getpid());
  if (std::filesystem::exists(out + "/.done", error))
    return out;
  const std::string script = what == "reference"    ? CACHEGEN_MAKE_REFERENCE
                             : what == "tokenizers" ? CACHEGEN_MAKE_TOKENIZERS
                                                    : CACHEGEN_MAKE_SMOLLM2;
  const std::string model = what == "smollm2" ? CACHEGEN_SOURCE_DIR "/models/smollm2-135m " : "";
  const std::string command = std::string(CACHEGEN_PYTHON) + " " + script + " " + model + out +
                              " > " + out + ".log 2>&1 && touch " + out + "/.done";
  return std::system(command.c_str()) == 0 ? out : std::string();
}

}  // namespace cachegen
