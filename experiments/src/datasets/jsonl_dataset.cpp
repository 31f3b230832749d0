// longchat and longbench: JSONL records.
//   longchat   LongEval "lines" records {prompt, expected_number} (the question is the prompt's
//              last line; scored by LongEval's rule: the reply's last number is the expected
//              one), or {context, question, answer(s)} (the reply contains an answer)
//   longbench  LongBench records {context, input, answers} (TriviaQA, NarrativeQA); F1
//              (qa_f1_score); prompt "{context}\n\nQuestion: {input}\nAnswer:"
// Contexts longer than context_tokens are cut in the middle, as LongBench does.
#include <fstream>
#include <nlohmann/json.hpp>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "dataset_tokens.h"

namespace cachegen {

namespace {
// JSONL records; request `seed` takes record seed % count.
class JsonlDataset : public Dataset {
 public:
  JsonlDataset(const std::string& name, const std::string& path, const TextTokenizer& tokenizer)
      : name_(name), tokenizer_(tokenizer) {
    std::ifstream in(path);
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail(path, " line ", number, ": not JSON: ", e.what());
      }
      records_.push_back(parse(j, path, number));
    }
    if (records_.empty())
      fail(path, ": no records");
  }

  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t) override {
    const Record& rec = records_[seed % records_.size()];
    DatasetRequest r;
    r.context =
        with_bos(tokenizer_, cut_middle(tokenizer_.encode(rec.context), context_tokens - 1));
    r.question = tokenizer_.encode(rec.question);
    r.answers = rec.answers;
    r.metric = rec.metric;
    return r;
  }

 private:
  struct Record {
    std::string context, question;
    std::vector<std::string> answers;
    QualityMetric metric = QualityMetric::kContains;
  };

  Record parse(const nlohmann::json& j, const std::string& path, int64_t number) const {
    auto text = [&](const char* key) -> std::string {
      if (!j.contains(key) || !j[key].is_string())
        fail(path, " line ", number, ": ", name_, " record needs a string '", key, "'");
      return j[key].get<std::string>();
    };
    Record rec;
    if (name_ == "longbench") {
      rec.metric = QualityMetric::kF1;
      rec.context = text("context") + "\n\n";
      rec.question = "Question: " + text("input") + "\nAnswer:";
      if (!j.contains("answers") || !j["answers"].is_array() || j["answers"].empty())
        fail(path, " line ", number, ": longbench record needs a non-empty list 'answers'");
      for (const auto& a : j["answers"])
        rec.answers.push_back(a.is_string() ? a.get<std::string>() : a.dump());
    } else if (j.contains("prompt")) {  // LongEval lines: the question is the last line
      std::string prompt = text("prompt");
      const size_t cut = prompt.find_last_of('\n', prompt.find_last_not_of('\n'));
      rec.context = cut == std::string::npos ? "" : prompt.substr(0, cut + 1);
      rec.question = cut == std::string::npos ? prompt : prompt.substr(cut + 1);
      if (!j.contains("expected_number"))
        fail(path, " line ", number, ": longchat record needs 'expected_number'");
      rec.answers = {j["expected_number"].is_string() ? j["expected_number"].get<std::string>()
                                                      : j["expected_number"].dump()};
      rec.metric = QualityMetric::kLastNumber;
    } else {
      rec.context = text("context");
      rec.question = text("question");
      if (j.contains("answers") && j["answers"].is_array()) {
        for (const auto& a : j["answers"])
          rec.answers.push_back(a.is_string() ? a.get<std::string>() : a.dump());
      } else {
        rec.answers = {text("answer")};
      }
    }
    return rec;
  }

  std::string name_;
  const TextTokenizer& tokenizer_;
  std::vector<Record> records_;
};

// A registration of the JSONL format `name`, its sample file experiments/test/data/NAME.jsonl.
PluginInfo jsonl_info(const std::string& name, const std::string& description) {
  return {name,
          description,
          {file_option("path", "the JSONL file (required)")},
          require_path,
          "path=experiments/test/data/" + name + ".jsonl"};
}

template <const char* kName>
std::unique_ptr<Dataset> make_jsonl(const Options& options, const TextTokenizer& tokenizer) {
  return std::make_unique<JsonlDataset>(kName, options.text("path"), tokenizer);
}
constexpr char kLongchat[] = "longchat";
constexpr char kLongbench[] = "longbench";
}  // namespace

CACHEGEN_REGISTER(dataset_registry(),
                  jsonl_info(kLongchat,
                             "LongEval lines JSONL {prompt, expected_number}; accuracy (the "
                             "reply's last number, LongEval's rule)"),
                  make_jsonl<kLongchat>);
CACHEGEN_REGISTER(dataset_registry(),
                  jsonl_info(kLongbench, "LongBench JSONL {context, input, answers}; F1"),
                  make_jsonl<kLongbench>);

}  // namespace cachegen
