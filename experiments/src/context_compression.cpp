#include "context_compression.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cachegen/core/error.h"
#include "cachegen/core/options.h"

namespace cachegen {

namespace {
const OptionSchema& h2o_options() {
  static const OptionSchema schema = {
      number_option("keep", 0.5, 1e-6, 1, "fraction of the context's tokens whose KV is kept"),
      number_option("recent", 0.5, 0, 1, "fraction of the kept tokens that are the most recent"),
      choice_option("select", "head", {"head", "layer", "model"},
                    "whose scores rank tokens: each (layer, KV head), each layer, or the model")};
  return schema;
}
const OptionSchema& llmlingua_options() {
  static const OptionSchema schema = {
      number_option("keep", 0.5, 1e-6, 1, "fraction of the context's tokens kept"),
      integer_option("segment", 128, 1, 1 << 20, "tokens per iteratively scored segment")};
  return schema;
}
}  // namespace

int64_t CompressionSpec::kept_tokens(int64_t tokens) const {
  if (kind == Kind::kNone)
    return tokens;
  return std::clamp<int64_t>(std::llround(keep * static_cast<double>(tokens)), 1, tokens);
}

CompressionSpec parse_compression_spec(const std::string& text) {
  const auto [name, options_text] = split_plugin_spec(text);
  CompressionSpec spec;
  const std::string where = "compression '" + text + "'";
  if (name == "none") {
    if (!options_text.empty())
      fail(where, ": 'none' takes no options");
    return spec;
  }
  Options options = Options::parse(options_text, where);
  if (name == "h2o") {
    options.validate(h2o_options());
    spec.kind = CompressionSpec::Kind::kH2o;
    spec.recent = options.number("recent");
    spec.scope = parse_selection_scope(options.text("select"));
  } else if (name == "llmlingua") {
    options.validate(llmlingua_options());
    spec.kind = CompressionSpec::Kind::kLlmlingua;
    spec.segment = options.integer("segment");
  } else {
    fail(where, ": unknown compression '", name, "'; valid: none, h2o, llmlingua");
  }
  spec.keep = options.number("keep");
  return spec;
}

StreamContext h2o_compress(LanguageModel& model, const std::vector<int32_t>& context,
                           const StreamContext& full, int64_t chunk_tokens,
                           const CompressionSpec& spec) {
  const KVShape& shape = full.kv.shape();
  if (shape.tokens != static_cast<int64_t>(context.size()))
    fail("h2o: a context of ", context.size(), " tokens with KV of ", shape.tokens);
  const int64_t keep = spec.kept_tokens(shape.tokens);
  const auto recent =
      std::min<int64_t>(keep, std::llround(spec.recent * static_cast<double>(keep)));
  const KeptTokens kept = h2o_select(model.attention_received(context), shape.layers,
                                     shape.kv_heads, shape.tokens, keep, recent, spec.scope);
  StreamContext out;
  out.kv = gather_kept(full.kv, kept);
  // No text recomputes a chunk of kept KV; the per-chunk prefill times (which the measured
  // timing prices the question's prefill by) are the whole context's prefill, spread over the
  // kept chunks by their sizes.
  double total_s = 0;
  for (double s : full.text.chunk_prefill_s)
    total_s += s;
  for (const TokenRange& range : split_into_chunks(keep, chunk_tokens))
    out.text.chunk_prefill_s.push_back(total_s * static_cast<double>(range.count) /
                                       static_cast<double>(keep));
  out.question = full.question;
  out.question_tokens = full.question_tokens;
  out.answer = full.answer;
  return out;
}

namespace {
// -log softmax(logits)[token], in double; logits [vocab].
double self_information(const float* logits, int64_t vocab, int32_t token) {
  double top = -std::numeric_limits<double>::infinity();
  for (int64_t v = 0; v < vocab; ++v)
    top = std::max(top, static_cast<double>(logits[v]));
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v)
    sum += std::exp(static_cast<double>(logits[v]) - top);
  return top + std::log(sum) - static_cast<double>(logits[token]);
}
}  // namespace

LlmlinguaResult llmlingua_compress(LanguageModel& model, const std::vector<int32_t>& context,
                                   const CompressionSpec& spec) {
  if (context.empty())
    fail("llmlingua: an empty context");
  const int64_t vocab = model.vocab_size();
  LlmlinguaResult out;
  out.self_information.assign(context.size(), std::numeric_limits<double>::infinity());
  // The kept prefix's KV and the logits after its last token (predicting the next one).
  PrefillResult prefix = model.prefill({context.front()}, nullptr, false);
  out.kept.push_back(context.front());
  for (size_t begin = 1; begin < context.size(); begin += static_cast<size_t>(spec.segment)) {
    const size_t end = std::min(context.size(), begin + static_cast<size_t>(spec.segment));
    const std::vector<int32_t> segment(context.begin() + static_cast<long>(begin),
                                       context.begin() + static_cast<long>(end));
    // Each token's self-information given the kept prefix and the segment's earlier tokens.
    const PrefillResult scored = model.prefill(segment, &prefix.kv, true);
    for (size_t i = 0; i < segment.size(); ++i) {
      const float* logits = i == 0 ? prefix.logits.data()
                                   : scored.logits.data() + (i - 1) * static_cast<size_t>(vocab);
      out.self_information[begin + i] = self_information(logits, vocab, segment[i]);
    }
    // The segment's most surprising tokens (ties: the earlier), in context order.
    const auto keep = static_cast<size_t>(
        std::clamp<int64_t>(std::llround(spec.keep * static_cast<double>(segment.size())), 1,
                            static_cast<int64_t>(segment.size())));
    std::vector<size_t> order(segment.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return out.self_information[begin + a] > out.self_information[begin + b];
    });
    order.resize(keep);
    std::sort(order.begin(), order.end());
    std::vector<int32_t> kept;
    for (size_t i : order)
      kept.push_back(segment[i]);
    out.kept.insert(out.kept.end(), kept.begin(), kept.end());
    prefix = model.prefill(kept, &prefix.kv, false);
  }
  return out;
}

}  // namespace cachegen
