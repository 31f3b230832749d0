// CacheGen's controller (§5.3): estimate throughput from the chunks already sent, assume it
// holds, and give every remaining chunk an equal share of the SLO budget left; send the next
// chunk in the best-quality encoding whose expected delay fits its share, or as text when
// recomputing it is expected to finish sooner than fetching that encoding.
//
// The first chunk has no measurement to go on. `first_chunk=prior` assumes `prior_mbps`;
// `first_chunk=smallest` sends it in the store's smallest encoding (or text, if recomputing it
// is expected to be faster at the prior). Neither looks at the trace: configs/paper/
// adaptive-controller.yaml measures both, and priors at the trace family's low end and mean.
//
// `estimate_from=kv` (the default) measures throughput on KV transfers only: a text chunk's few
// KB take about one round trip whatever the bandwidth, so its bytes over time say nothing about
// throughput, and counting it made the controller, once it chose text, see an ever lower
// throughput and never leave text. `estimate_from=all` counts every transfer (the behaviour
// before 2026-12-03).
//
// When to send text instead (`text=`): `faster` (the default) when recomputing the chunk is
// expected to finish no later than fetching the chosen encoding; `fallback`, as the reference's
// run_adaptation.py, only when the chosen encoding is not expected to fit its share; `fits`, the
// paper's objective read literally (the best quality within the SLO: recomputed KV is exact),
// whenever recomputing is expected to fit its share. When nothing fits, `fits` also takes the
// faster of text and the smallest encoding. configs/paper/controller-text-rule*.yaml measure
// the three.
#include <limits>

#include "cachegen/core/registry.h"
#include "cachegen/stream/controller.h"

namespace cachegen {

namespace {
enum class TextRule { kFaster, kFallback, kFits };

class CacheGenController : public Controller {
 public:
  CacheGenController(double prior_bps, int64_t window, bool first_smallest, bool kv_only,
                     TextRule text_rule)
      : prior_bps_(prior_bps),
        window_(window),
        first_smallest_(first_smallest),
        kv_only_(kv_only),
        text_rule_(text_rule) {}
  std::string name() const override { return "cachegen"; }

  int choose(const StreamView& view) override {
    const double throughput = estimate_bps(view);
    // When this chunk's work would be done if sent as `choice`: its bytes at the estimated
    // throughput, then its GPU work once the GPU is free.
    auto done_s = [&](int choice) {
      const double arrival =
          view.now_s + 8.0 * static_cast<double>(view.bytes(view.next, choice)) / throughput;
      return std::max(arrival, view.compute_free_s) + view.compute_s(view.next, choice);
    };
    const double budget =
        (view.slo_s - view.costs.question_s - view.now_s) / static_cast<double>(view.remaining());
    auto fits = [&](int choice) { return done_s(choice) - view.now_s <= budget; };
    const auto encodings = static_cast<int>(view.store.encodings().size());
    int choice = encodings - 1;  // nothing fits: the smallest encoding
    const bool first = view.sent.empty();
    for (int encoding = first && first_smallest_ ? encodings : 0; encoding < encodings;
         ++encoding) {
      if (fits(encoding)) {
        choice = encoding;
        break;
      }
    }
    const bool text_faster = done_s(kTextChoice) <= done_s(choice);
    switch (text_rule_) {
      case TextRule::kFallback:
        return fits(choice) ? choice : kTextChoice;
      case TextRule::kFits:
        return fits(kTextChoice) || (!fits(choice) && text_faster) ? kTextChoice : choice;
      case TextRule::kFaster:
        break;
    }
    return text_faster ? kTextChoice : choice;
  }

 private:
  // Bytes over wall time (request to last byte) of the last `window_` transfers that count
  // (KV transfers only, with kv_only_), or the prior when none has.
  double estimate_bps(const StreamView& view) const {
    double bits = 0, seconds = 0;
    int64_t counted = 0;
    for (auto s = view.sent.rbegin(); s != view.sent.rend() && counted < window_; ++s) {
      if (kv_only_ && s->choice == kTextChoice)
        continue;
      bits += 8.0 * static_cast<double>(s->bytes);
      seconds += s->arrival_s - s->start_s;
      ++counted;
    }
    return seconds > 0 && bits > 0 ? bits / seconds : prior_bps_;
  }

  double prior_bps_;
  int64_t window_;
  bool first_smallest_;
  bool kv_only_;
  TextRule text_rule_;
};
}  // namespace

CACHEGEN_REGISTER(
    controller_registry(),
    {"cachegen",
     "CacheGen's: the best encoding that fits the SLO budget at the measured throughput, or text "
     "when recompute is faster",
     {integer_option("prior_mbps", 1000, 1, 100'000'000,
                     "throughput assumed before the first chunk arrives (Mbps)"),
      integer_option("window", 1, 1, 1000, "chunks averaged in the throughput estimate"),
      choice_option("first_chunk", "prior", {"prior", "smallest"},
                    "the first chunk: the best encoding that fits at prior_mbps, or the smallest"),
      choice_option("estimate_from", "kv", {"kv", "all"},
                    "transfers the throughput estimate counts: KV chunks only (text chunks are "
                    "round-trip bound), or all"),
      choice_option("text", "faster", {"faster", "fallback", "fits"},
                    "when a chunk goes as text: recompute expected no later than the chosen "
                    "encoding, only when no encoding fits its SLO share (the reference's), or "
                    "whenever recompute fits it (exact KV first)")}},
    [](const Options& options) {
      return std::make_unique<CacheGenController>(
          1e6 * static_cast<double>(options.integer("prior_mbps")), options.integer("window"),
          options.text("first_chunk") == "smallest", options.text("estimate_from") == "kv",
          options.text("text") == "fallback" ? TextRule::kFallback
          : options.text("text") == "fits"   ? TextRule::kFits
                                             : TextRule::kFaster);
    });

}  // namespace cachegen
