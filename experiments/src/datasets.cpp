#include "cachegen/experiments/datasets.h"

#include "cachegen/core/error.h"

#if CACHEGEN_HAVE_TORCH
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cachegen/core/byte_io.h"
#include "cachegen/models/line_retrieval.h"
#endif

namespace cachegen {

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"line_retrieval", "text", "wikitext", "longchat",
                                              "longbench"};
  return names;
}

bool dataset_needs_file(const std::string& name) {
  return name != "line_retrieval";
}

const char* quality_metric_column(QualityMetric metric) {
  switch (metric) {
    case QualityMetric::kAccuracy:
    case QualityMetric::kContains:
      return "accuracy";
    case QualityMetric::kF1:
      return "f1";
    case QualityMetric::kPerplexity:
      return "perplexity";
  }
  return "accuracy";
}

#if CACHEGEN_HAVE_TORCH
namespace {
std::vector<int32_t> with_bos(const Tokenizer& tokenizer, std::vector<int32_t> ids) {
  if (tokenizer.bos_id() >= 0)
    ids.insert(ids.begin(), tokenizer.bos_id());
  return ids;
}

// Keeps the first and last halves of `ids` when it is longer than `limit` (LongBench).
std::vector<int32_t> cut_middle(std::vector<int32_t> ids, int64_t limit) {
  if (static_cast<int64_t>(ids.size()) <= limit)
    return ids;
  const auto head = static_cast<size_t>(limit / 2), tail = static_cast<size_t>(limit) - head;
  std::vector<int32_t> out(ids.begin(), ids.begin() + static_cast<long>(head));
  out.insert(out.end(), ids.end() - static_cast<long>(tail), ids.end());
  return out;
}

class LineRetrievalDataset : public Dataset {
 public:
  explicit LineRetrievalDataset(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t) override {
    std::mt19937_64 rng(seed);
    // The BOS token is part of the budget.
    RetrievalEpisode e = make_retrieval_episode(tokenizer_, context_tokens - 1, rng);
    DatasetRequest r;
    r.context = with_bos(tokenizer_, tokenizer_.encode(e.context));
    r.question = tokenizer_.encode(e.question);
    r.answers = {e.answer};
    r.metric = QualityMetric::kAccuracy;
    return r;
  }

 private:
  const Tokenizer& tokenizer_;
};

// A window of context_tokens + eval_tokens tokens at a seeded offset of the file.
class TextDataset : public Dataset {
 public:
  TextDataset(const std::string& path, const Tokenizer& tokenizer)
      : path_(path), tokenizer_(tokenizer) {
    std::vector<uint8_t> bytes = read_file(path);
    tokens_ = tokenizer.encode(std::string(bytes.begin(), bytes.end()));
  }
  DatasetRequest request(uint64_t seed, int64_t context_tokens, int64_t eval_tokens) override {
    const int64_t window = context_tokens - 1 + eval_tokens;
    if (static_cast<int64_t>(tokens_.size()) < window) {
      fail(path_, ": ", tokens_.size(), " tokens, fewer than context_tokens + eval_tokens (",
           window + 1, ")");
    }
    std::mt19937_64 rng(seed);
    const auto offset = std::uniform_int_distribution<int64_t>(
        0, static_cast<int64_t>(tokens_.size()) - window)(rng);
    auto at = tokens_.begin() + offset;
    DatasetRequest r;
    r.context = with_bos(tokenizer_, std::vector<int32_t>(at, at + context_tokens - 1));
    r.continuation.assign(at + context_tokens - 1, at + window);
    r.metric = QualityMetric::kPerplexity;
    return r;
  }

 private:
  std::string path_;
  const Tokenizer& tokenizer_;
  std::vector<int32_t> tokens_;
};

// JSONL records; request `seed` takes record seed % count.
class JsonlDataset : public Dataset {
 public:
  JsonlDataset(const std::string& name, const std::string& path, const Tokenizer& tokenizer)
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
    r.metric = name_ == "longbench" ? QualityMetric::kF1 : QualityMetric::kContains;
    return r;
  }

 private:
  struct Record {
    std::string context, question;
    std::vector<std::string> answers;
  };

  Record parse(const nlohmann::json& j, const std::string& path, int64_t number) const {
    auto text = [&](const char* key) -> std::string {
      if (!j.contains(key) || !j[key].is_string())
        fail(path, " line ", number, ": ", name_, " record needs a string '", key, "'");
      return j[key].get<std::string>();
    };
    Record rec;
    if (name_ == "longbench") {
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
  const Tokenizer& tokenizer_;
  std::vector<Record> records_;
};
}  // namespace

std::unique_ptr<Dataset> make_dataset(const std::string& name, const std::string& path,
                                      const Tokenizer& tokenizer) {
  if (name == "line_retrieval")
    return std::make_unique<LineRetrievalDataset>(tokenizer);
  if (name == "text" || name == "wikitext")
    return std::make_unique<TextDataset>(path, tokenizer);
  if (name == "longchat" || name == "longbench")
    return std::make_unique<JsonlDataset>(name, path, tokenizer);
  std::string valid;
  for (const std::string& n : dataset_names())
    valid += (valid.empty() ? "" : ", ") + n;
  fail("unknown dataset '", name, "'; valid: ", valid);
}
#endif

}  // namespace cachegen
