// Contexts with a real model's KV: a dataset's context is prefilled chunk by chunk (each chunk
// on top of the KV of the ones before, timed: what recomputing it costs), and the request's
// answer is scored on the KV that streaming assembled. Any registered language model with a
// tokenizer.
#pragma once

#include <cstdint>
#include <string>

#include "cachegen/core/dataset.h"
#include "cachegen/core/language_model.h"
#include "cachegen/experiments/stream_setup.h"

namespace cachegen {

// Prefills `context` (token ids, BOS first) in chunks of chunk_tokens, timing each chunk.
StreamContext model_context(LanguageModel& model, const TextTokenizer& tokenizer,
                            const std::vector<int32_t>& context, int64_t chunk_tokens);

// The model's greedy answer to the request's question on `kv` (the KV streaming assembled), cut
// at the request's answer end; at most max_tokens tokens. first_position: the question's first
// position (-1: kv's token count; more when kv leaves context tokens out, as H2O's does).
std::string answer_on_kv(LanguageModel& model, const TextTokenizer& tokenizer, const KVCache& kv,
                         const DatasetRequest& request, int max_tokens,
                         int64_t first_position = -1);

}  // namespace cachegen
