// Contexts with a real model's KV (CACHEGEN_WITH_TORCH): a dataset's context is prefilled chunk
// by chunk (each chunk on top of the KV of the ones before, timed: what recomputing it costs),
// and the request's answer is scored on the KV that streaming assembled.
#pragma once

#include <cstdint>
#include <string>

#include "cachegen/experiments/stream_setup.h"
#include "cachegen/models/llama_model.h"
#include "cachegen/models/tokenizer.h"

namespace cachegen {

// Prefills `context` (token ids, BOS first) in chunks of chunk_tokens, timing each chunk.
StreamContext model_context(LlamaModel& model, const Tokenizer& tokenizer,
                            const std::vector<int32_t>& context, int64_t chunk_tokens);

// A line-retrieval episode of context_tokens tokens (episode `seed`), prefilled.
StreamContext retrieval_context(LlamaModel& model, const Tokenizer& tokenizer,
                                int64_t context_tokens, int64_t chunk_tokens, uint64_t seed);

// The model's greedy answer to the request on `kv` (the KV streaming assembled), up to the
// retrieval answer end; at most max_tokens tokens.
std::string answer_on_kv(LlamaModel& model, const Tokenizer& tokenizer, const KVCache& kv,
                         const std::vector<int32_t>& question, int max_tokens);

}  // namespace cachegen
