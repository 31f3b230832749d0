// Context compression before the codec, the paper's other baselines (a run key, `compression`):
//   none
//   h2o:keep=F[;recent=F][;select=head|layer|model]
//       H2O (Zhang et al., NeurIPS 2023): keep `keep` of the context tokens' KV, per (layer, KV
//       head) the heavy hitters (most attention received during the context's prefill) and
//       the most recent (`recent` of the budget); token_selection.h. The kept KV then goes to
//       the codec; the question's tokens keep their original positions.
//   llmlingua:keep=F[;segment=N]
//       LLMLingua's token-level iterative compression (Jiang et al., EMNLP 2023), with the run's
//       model as the scorer: the context, in segments of N tokens, each scored on the already
//       compressed prefix, keeps per segment the `keep` fraction of tokens with the highest
//       self-information -log p(token | kept prefix, segment so far); the shortened text is
//       prefilled, and its KV goes to the codec (or its text is recomputed). What a single
//       context leaves out: LLMLingua's budget controller (it splits a budget between
//       instruction, demonstrations and question, and drops whole demonstrations coarse-to-fine):
//       here the context is one document, the question is never compressed, and every segment
//       keeps the same fraction. Its distribution alignment (fine-tuning the scorer on the
//       target LLM's outputs) is moot: scorer and target are the same model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/language_model.h"
#include "cachegen/core/token_selection.h"
#include "cachegen/experiments/stream_setup.h"

namespace cachegen {

struct CompressionSpec {
  enum class Kind { kNone, kH2o, kLlmlingua };
  Kind kind = Kind::kNone;
  double keep = 1;                               // fraction of the context's tokens kept
  double recent = 0.5;                           // h2o: fraction of the budget that is recent
  SelectionScope scope = SelectionScope::kHead;  // h2o
  int64_t segment = 128;                         // llmlingua: tokens per segment
  bool none() const { return kind == Kind::kNone; }
  // Kept tokens of a context of `tokens` (at least 1).
  int64_t kept_tokens(int64_t tokens) const;
};
// Throws naming the spec and the bad option.
CompressionSpec parse_compression_spec(const std::string& text);

// H2O on a prefilled context: `full` is model_context()'s result for `context` (token ids, in
// chunks of chunk_tokens); returns its kept KV, without text (no text recomputes a chunk of
// kept KV), with per-chunk prefill times that spread the whole context's.
StreamContext h2o_compress(LanguageModel& model, const std::vector<int32_t>& context,
                           const StreamContext& full, int64_t chunk_tokens,
                           const CompressionSpec& spec);

// LLMLingua's token scores and kept tokens for `context` (token ids, BOS first: always kept).
struct LlmlinguaResult {
  std::vector<double> self_information;  // [context tokens]: -log p (the first: +inf)
  std::vector<int32_t> kept;             // kept token ids, in context order
};
LlmlinguaResult llmlingua_compress(LanguageModel& model, const std::vector<int32_t>& context,
                                   const CompressionSpec& spec);

}  // namespace cachegen
