// LongChat-style line retrieval (the CacheGen paper's LongChat task): a record of lines
//   line <adjective-noun>: REGISTER_CONTENT is <number>
// then a question for one line; the answer is its number, scored by exact match. Episodes are
// generated at any context length and are deterministic in their seed. Used to train the
// built-in model and to measure retrieval accuracy.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cachegen/core/language_model.h"

namespace cachegen {

struct RetrievalLine {
  std::string key;     // "adjective-noun", unique within a record
  std::string number;  // five digits
};

struct RetrievalEpisode {
  std::string context;   // the record, ending in a newline
  std::string question;  // ends with "The REGISTER_CONTENT is <", so the answer comes next
  std::string answer;    // the number's digits
  std::vector<RetrievalLine> lines;  // every line of the record, in order
};

// The record grows line by line while its tokens stay within `context_tokens`.
RetrievalEpisode make_retrieval_episode(const TextTokenizer& tokenizer, int64_t context_tokens,
                                        std::mt19937_64& rng);

// A record of exactly `line_count` lines (at most 4096, the distinct keys), no tokenizer
// needed: text for training a tokenizer that knows the task's words.
RetrievalEpisode make_retrieval_episode_with_lines(int64_t line_count, std::mt19937_64& rng);

// "What is the REGISTER_CONTENT in line KEY? The REGISTER_CONTENT is <"
std::string retrieval_question(const std::string& key);

// The text after an answer: the model should write the digits, then ">".
const char* retrieval_answer_end();

struct RetrievalScore {
  int64_t episodes = 0;
  int64_t correct = 0;
  std::vector<std::string> replies;  // the model's reply to each episode, up to its answer end
  std::vector<std::string> answers;  // the right answer of each episode
  double accuracy() const {
    return episodes ? static_cast<double>(correct) / static_cast<double>(episodes) : 0;
  }
};

// Exact-match accuracy of greedy answers over `episodes` episodes of `context_tokens` tokens
// (episode i uses seed + i), with uncompressed KV.
RetrievalScore score_retrieval(LanguageModel& model, const TextTokenizer& tokenizer,
                               int64_t context_tokens, int64_t episodes, uint64_t seed);

}  // namespace cachegen
