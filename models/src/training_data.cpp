#include "training_data.h"

#include <algorithm>
#include <string>

#include "cachegen/models/line_retrieval.h"

namespace cachegen {

TrainingData::TrainingData(const TrainRecipe& recipe, const Tokenizer& tokenizer,
                           const std::vector<int32_t>& corpus, int32_t eos_id)
    : recipe_(recipe),
      tokenizer_(tokenizer),
      corpus_(corpus),
      bos_(tokenizer.bos_id()),
      eos_(eos_id),
      rng_(recipe.seed) {
  if (recipe.longeval_fraction <= 0)
    return;
  std::vector<LongEvalCase> cases = load_longeval_cases(recipe.longeval_path);
  std::vector<std::pair<int64_t, size_t>> by_length;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto n = static_cast<int64_t>(tokenizer.encode(cases[i].record).size() +
                                        tokenizer.encode(cases[i].question).size()) +
                   (bos_ >= 0 ? 1 : 0);
    by_length.emplace_back(n, i);
  }
  std::sort(by_length.begin(), by_length.end());
  for (const auto& [n, i] : by_length) {
    longeval_tokens_.push_back(n);
    longeval_cases_.push_back(std::move(cases[i]));
  }
}

TrainingSequence TrainingData::next(int64_t longest_record) {
  const double draw = std::uniform_real_distribution<double>(0, 1)(rng_);
  if (draw < recipe_.retrieval_fraction)
    return retrieval(longest_record);
  if (draw < recipe_.retrieval_fraction + recipe_.copy_fraction)
    return copy();
  if (draw < recipe_.retrieval_fraction + recipe_.copy_fraction + recipe_.longeval_fraction)
    return longeval(longest_record);
  return text();
}

TrainingSequence TrainingData::text() {
  TrainingSequence s;
  const size_t at = std::uniform_int_distribution<size_t>(
      0, corpus_.size() - static_cast<size_t>(recipe_.seq_len) - 2)(rng_);
  s.tokens.assign(corpus_.begin() + static_cast<long>(at),
                  corpus_.begin() + static_cast<long>(at) + recipe_.seq_len + 1);
  s.scored.assign(s.tokens.size() - 1, 1);
  return s;
}

TrainingSequence TrainingData::start(SequenceKind kind) const {
  TrainingSequence s;
  s.kind = kind;
  if (bos_ >= 0)
    s.tokens.push_back(bos_);
  return s;
}

void TrainingData::append(TrainingSequence& s, const std::string& text, float weight) const {
  std::vector<int32_t> ids = tokenizer_.encode(text);
  s.tokens.insert(s.tokens.end(), ids.begin(), ids.end());
  s.scored.resize(s.tokens.size() - 1, weight);
}

TrainingSequence TrainingData::retrieval(int64_t longest_record) {
  // One record, then several questions about random lines of it, each answered: only the
  // answers are scored, and more questions per record give more signal per token.
  TrainingSequence s = start(SequenceKind::kRetrieval);
  const int64_t length =
      std::uniform_int_distribution<int64_t>(recipe_.min_episode_tokens, longest_record)(rng_);
  RetrievalEpisode e = make_retrieval_episode(tokenizer_, length, rng_);
  append(s, e.context, 0);
  // Distinct lines, so that no answer can be copied from an earlier answer.
  std::vector<RetrievalLine> asked = e.lines;
  std::shuffle(asked.begin(), asked.end(), rng_);
  asked.resize(std::min(asked.size(), static_cast<size_t>(recipe_.questions_per_episode)));
  for (const RetrievalLine& line : asked) {
    append(s, retrieval_question(line.key), 0);
    s.first_answer_token.push_back(static_cast<int64_t>(s.tokens.size()) - 1);
    append(s, line.number + retrieval_answer_end() + "\n", 1);
  }
  return s;
}

TrainingSequence TrainingData::longeval(int64_t longest_record) {
  // A case that fits the curriculum (the shortest when none does): its record and official
  // question, answered, then questions about other lines of it, each answered; only the
  // answers (reply prefix, digits, end) are scored.
  TrainingSequence s = start(SequenceKind::kLongEval);
  const auto fitting = static_cast<size_t>(
      std::upper_bound(longeval_tokens_.begin(), longeval_tokens_.end(), longest_record) -
      longeval_tokens_.begin());
  const LongEvalCase& c = longeval_cases_[std::uniform_int_distribution<size_t>(
      0, std::max<size_t>(fitting, 1) - 1)(rng_)];
  append(s, c.record, 0);
  std::vector<RetrievalLine> others;
  for (const RetrievalLine& line : c.lines) {
    if (line.key != c.asked)
      others.push_back(line);
  }
  std::shuffle(others.begin(), others.end(), rng_);
  others.resize(std::min(others.size(), static_cast<size_t>(recipe_.questions_per_episode - 1)));
  others.insert(others.begin(), RetrievalLine{c.asked, c.expected});
  for (const RetrievalLine& line : others) {
    append(s, line.key == c.asked ? c.question : longeval_question_about(c, line.key), 0);
    append(s, longeval_reply_prefix(), 1);
    s.first_answer_token.push_back(static_cast<int64_t>(s.tokens.size()) - 1);
    append(s, line.number + retrieval_answer_end() + "\n", 1);
  }
  return s;
}

TrainingSequence TrainingData::copy() {
  // Random tokens, then the same tokens again; the repeat is scored (but its first token).
  // Teaches copying what followed the same tokens earlier (induction), which retrieval builds
  // on: text alone did not teach it to this small model.
  TrainingSequence s;
  s.kind = SequenceKind::kCopy;
  std::uniform_int_distribution<int32_t> any_token(
      0, static_cast<int32_t>(tokenizer_.vocab_size()) - 1);
  const int64_t length = std::uniform_int_distribution<int64_t>(8, recipe_.copy_tokens)(rng_);
  std::vector<int32_t> segment;
  while (static_cast<int64_t>(segment.size()) < length) {
    const int32_t t = any_token(rng_);
    if (t != bos_ && t != eos_)
      segment.push_back(t);
  }
  if (bos_ >= 0)
    s.tokens.push_back(bos_);
  s.tokens.insert(s.tokens.end(), segment.begin(), segment.end());
  const size_t repeat_at = s.tokens.size();
  s.tokens.insert(s.tokens.end(), segment.begin(), segment.end());
  s.scored.assign(s.tokens.size() - 1, 0);
  std::fill(s.scored.begin() + static_cast<long>(repeat_at), s.scored.end(), 1.0F);
  return s;
}

}  // namespace cachegen
