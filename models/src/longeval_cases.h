// LongEval "lines" cases for training (private to models/src): the JSONL that
// scripts/make_longeval.py --train-out writes with LongChat's own generator, one
// {prompt, expected_number, ...} record per line. The prompt is the official one: a header, the
// record ("line NAME: REGISTER_CONTENT is <N>" per line), then the question as its last line.
#pragma once

#include <string>
#include <vector>

#include "cachegen/models/line_retrieval.h"

namespace cachegen {

struct LongEvalCase {
  std::string record;    // the prompt up to its last line, ending in a newline
  std::string question;  // the prompt's last line: "... in line NAME? I need the number."
  std::string asked;     // NAME, the line the question is about
  std::string expected;  // its number (expected_number)
  std::vector<RetrievalLine> lines;  // every line of the record, in order
};

// Reads every case; errors name the file, line and what is wrong (not JSON, no prompt, a
// question that names no line of its record, an expected number that is not that line's).
std::vector<LongEvalCase> load_longeval_cases(const std::string& path);

// The same question about another line of the record.
std::string longeval_question_about(const LongEvalCase& c, const std::string& name);

// The start of the reply the built-in model is trained to give after an official question, in
// its own answer form: then the number, retrieval_answer_end() and a newline, so that the
// number is the reply's last number (LongEval's rule) before any newline.
const char* longeval_reply_prefix();

}  // namespace cachegen
