#include "longeval_cases.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
constexpr char kLinePrefix[] = "line ";
constexpr char kLineMiddle[] = ": REGISTER_CONTENT is <";
constexpr char kAskedPrefix[] = " in line ";

// The record's "line NAME: REGISTER_CONTENT is <N>" lines, in order; other lines are skipped.
std::vector<RetrievalLine> record_lines(const std::string& record) {
  std::vector<RetrievalLine> lines;
  size_t at = 0;
  while (at < record.size()) {
    size_t end = record.find('\n', at);
    if (end == std::string::npos)
      end = record.size();
    const std::string line = record.substr(at, end - at);
    const size_t middle = line.find(kLineMiddle);
    if (line.rfind(kLinePrefix, 0) == 0 && middle != std::string::npos && line.back() == '>') {
      const size_t number_at = middle + sizeof(kLineMiddle) - 1;
      lines.push_back({line.substr(sizeof(kLinePrefix) - 1, middle - (sizeof(kLinePrefix) - 1)),
                       line.substr(number_at, line.size() - 1 - number_at)});
    }
    at = end + 1;
  }
  return lines;
}
}  // namespace

std::vector<LongEvalCase> load_longeval_cases(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    fail(path,
         ": cannot open the LongEval cases (scripts/make_longeval.py --train-out makes them)");
  std::vector<LongEvalCase> cases;
  std::string text;
  for (int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(path, " line ", number, ": not JSON: ", e.what());
    }
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() ||
        !j.contains("expected_number") || !j["expected_number"].is_number_integer()) {
      fail(path, " line ", number,
           ": a LongEval case needs a string 'prompt' and an integer "
           "'expected_number'");
    }
    const std::string prompt = j["prompt"].get<std::string>();
    LongEvalCase c;
    c.expected = std::to_string(j["expected_number"].get<int64_t>());
    const size_t cut = prompt.find_last_of('\n', prompt.find_last_not_of('\n'));
    if (cut == std::string::npos)
      fail(path, " line ", number, ": the prompt has no record before its question");
    c.record = prompt.substr(0, cut + 1);
    c.question = prompt.substr(cut + 1);
    c.lines = record_lines(c.record);
    const size_t asked_at = c.question.find(kAskedPrefix);
    const size_t asked_end = c.question.find('?', asked_at);
    if (asked_at == std::string::npos || asked_end == std::string::npos)
      fail(path, " line ", number, ": the question '", c.question, "' names no line");
    c.asked = c.question.substr(asked_at + sizeof(kAskedPrefix) - 1,
                                asked_end - asked_at - (sizeof(kAskedPrefix) - 1));
    bool found = false;
    for (const RetrievalLine& line : c.lines)
      found = found || (line.key == c.asked && line.number == c.expected);
    if (!found) {
      fail(path, " line ", number, ": the record has no line '", c.asked, "' with number ",
           c.expected, " (", c.lines.size(), " lines read)");
    }
    cases.push_back(std::move(c));
  }
  if (cases.empty())
    fail(path, ": no LongEval cases");
  return cases;
}

std::string longeval_question_about(const LongEvalCase& c, const std::string& name) {
  const size_t at = c.question.find(kAskedPrefix) + sizeof(kAskedPrefix) - 1;
  return c.question.substr(0, at) + name + c.question.substr(at + c.asked.size());
}

const char* longeval_reply_prefix() {
  return " The REGISTER_CONTENT is <";
}

}  // namespace cachegen
