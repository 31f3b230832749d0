#include "cachegen/experiments/model_context.h"

#include <random>

#include "cachegen/core/timer.h"
#include "cachegen/models/line_retrieval.h"

namespace cachegen {

StreamContext model_context(LlamaModel& model, const Tokenizer& tokenizer,
                            const std::vector<int32_t>& context, int64_t chunk_tokens) {
  StreamContext out;
  out.text.tokens = context;
  const auto total = static_cast<int64_t>(out.text.tokens.size());
  KVCache past;
  for (const TokenRange& range : split_into_chunks(total, chunk_tokens)) {
    std::vector<int32_t> ids(out.text.tokens.begin() + range.begin,
                             out.text.tokens.begin() + range.begin + range.count);
    Stopwatch clock;
    PrefillResult r = model.prefill(ids, range.begin ? &past : nullptr, false);
    out.text.chunk_prefill_s.push_back(clock.seconds());
    out.text.chunk_text_bytes.push_back(tokenizer.decode(ids).size());
    past = std::move(r.kv);
  }
  out.kv = std::move(past);
  return out;
}

StreamContext retrieval_context(LlamaModel& model, const Tokenizer& tokenizer,
                                int64_t context_tokens, int64_t chunk_tokens, uint64_t seed) {
  std::mt19937_64 rng(seed);
  RetrievalEpisode e = make_retrieval_episode(tokenizer, context_tokens, rng);
  std::vector<int32_t> ids = tokenizer.encode(e.context);
  if (tokenizer.bos_id() >= 0)
    ids.insert(ids.begin(), tokenizer.bos_id());
  StreamContext out = model_context(model, tokenizer, ids, chunk_tokens);
  out.question = tokenizer.encode(e.question);
  out.question_tokens = static_cast<int64_t>(out.question.size());
  out.answer = e.answer;
  return out;
}

std::string answer_on_kv(LlamaModel& model, const Tokenizer& tokenizer, const KVCache& kv,
                         const std::vector<int32_t>& question, int max_tokens) {
  std::string reply = tokenizer.decode(model.generate(question, &kv, max_tokens, -1));
  return reply.substr(0, reply.find(retrieval_answer_end()));
}

}  // namespace cachegen
