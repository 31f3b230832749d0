#include "cachegen/experiments/model_context.h"

#include "cachegen/core/timer.h"

namespace cachegen {

StreamContext model_context(LanguageModel& model, const TextTokenizer& tokenizer,
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

std::string answer_on_kv(LanguageModel& model, const TextTokenizer& tokenizer, const KVCache& kv,
                         const DatasetRequest& request, int max_tokens, int64_t first_position) {
  std::string reply =
      tokenizer.decode(model.generate(request.question, &kv, max_tokens, -1, first_position));
  return reply.substr(0, reply.find(request.answer_end));
}

}  // namespace cachegen
