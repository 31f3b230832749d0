// The trainer's sequences (private to models/src): text windows, line-retrieval records with
// answered questions, copy sequences and official LongEval cases with answered questions, drawn in
// the recipe's proportions from one seeded generator, so that a recipe and seed give the same
// sequences.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cachegen/models/tokenizer.h"
#include "cachegen/models/trainer.h"
#include "longeval_cases.h"

namespace cachegen {

enum class SequenceKind { kText, kRetrieval, kCopy, kLongEval };
constexpr int kSequenceKinds = 4;

struct TrainingSequence {
  SequenceKind kind = SequenceKind::kText;
  std::vector<int32_t> tokens;
  // Weight of each prediction: scored[i] for tokens[i + 1] from tokens[..i]; 0 = not scored.
  std::vector<float> scored;
  // Predictions (indices into `scored`) of each answer's first token: the retrieval proper.
  std::vector<int64_t> first_answer_token;
};

class TrainingData {
 public:
  // `corpus` is the tokenized training text (longer than recipe.seq_len + 1 tokens).
  TrainingData(const TrainRecipe& recipe, const Tokenizer& tokenizer,
               const std::vector<int32_t>& corpus, int32_t eos_id);

  // The next sequence; retrieval records are at most `longest_record` tokens (the curriculum).
  TrainingSequence next(int64_t longest_record);

 private:
  TrainingSequence text();
  TrainingSequence retrieval(int64_t longest_record);
  TrainingSequence copy();
  TrainingSequence longeval(int64_t longest_record);
  // A sequence of `kind` holding BOS (when the tokenizer has one); `text` appended to it, each
  // of its tokens' predictions scored with `weight`.
  TrainingSequence start(SequenceKind kind) const;
  void append(TrainingSequence& s, const std::string& text, float weight) const;

  const TrainRecipe& recipe_;
  const Tokenizer& tokenizer_;
  const std::vector<int32_t>& corpus_;
  int32_t bos_, eos_;
  std::mt19937_64 rng_;
  // recipe.longeval_path's cases, shortest first, and their prompt lengths in tokens (BOS
  // included; ascending), so that the curriculum draws among those that fit.
  std::vector<LongEvalCase> longeval_cases_;
  std::vector<int64_t> longeval_tokens_;
};

}  // namespace cachegen
