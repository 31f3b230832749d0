// libFuzzer target: the LongEval training-case reader (a recipe's data.longeval_path: JSONL
// of {prompt, expected_number}, the record's lines, the question's line). Malformed input must
// raise cachegen::Error. Seeds: models/fuzz/corpus/longeval_cases/.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "../src/longeval_cases.h"
#include "cachegen/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      "/tmp/cachegen_fuzz_longeval_" + std::to_string(getpid()) + ".jsonl";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    for (const cachegen::LongEvalCase& c : cachegen::load_longeval_cases(path)) {
      // What loads can be trained on: the asked line is in the record with its number, and
      // asking about any line of the record names that line.
      bool found = false;
      for (const cachegen::RetrievalLine& line : c.lines) {
        found = found || (line.key == c.asked && line.number == c.expected);
        if (cachegen::longeval_question_about(c, line.key).find(line.key) == std::string::npos)
          __builtin_trap();
      }
      if (!found)
        __builtin_trap();
    }
  } catch (const cachegen::Error&) {
  }
  return 0;
}
