// The oracle: knows the future. Before the first chunk it plans every chunk's option with the
// network's own model of the future (a copy of the network, fed the plan's transfers) and the
// expected GPU times, and then follows the plan. Objective: meet the SLO if any plan can; among
// those, the best quality (least total quality_loss), then the lowest TTFT; if none can, the
// lowest TTFT, then the best quality. The search is exact: a dynamic program over chunks that
// keeps, for each total loss, every plan prefix not beaten on both the network's and the GPU's
// free time (a prefix that is no earlier on either and no better in loss can never finish
// first). Exact when the network's future depends only on when transfers start (the fluid
// model without slow start); with slow start, prefixes that differ only in window are merged.
#include <algorithm>
#include <map>
#include <tuple>

#include "cachegen/core/error.h"
#include "cachegen/core/registry.h"
#include "cachegen/stream/controller.h"

namespace cachegen {

namespace {
struct PlanState {
  PipelineClock clock;
  int64_t loss = 0;
  int64_t parent = -1;  // index in the previous chunk's states
  int option = 0;
  std::shared_ptr<NetworkModel> network;  // its state after this prefix's transfers
};

class OracleController : public Controller {
 public:
  std::string name() const override { return "oracle"; }

  int choose(const StreamView& view) override {
    if (view.next == 0)
      plan_ = make_plan(view);
    return plan_.at(static_cast<size_t>(view.next));
  }

 private:
  static std::vector<int> make_plan(const StreamView& view) {
    std::unique_ptr<NetworkModel> start = view.network.clone();
    if (!start) {
      fail("controller 'oracle' needs a network model that can look ahead (fluid), not '",
           view.network.name(), "'");
    }
    std::vector<int> options{kTextChoice};
    for (int encoding = 0; encoding < static_cast<int>(view.store.encodings().size()); ++encoding)
      options.push_back(encoding);

    std::vector<std::vector<PlanState>> stages(1);
    PlanState first;
    first.clock.net_free_s = first.clock.compute_free_s = view.now_s;
    first.network = std::move(start);
    stages[0].push_back(std::move(first));
    for (int64_t chunk = 0; chunk < view.store.chunk_count(); ++chunk) {
      std::vector<PlanState> next;
      const auto& prev = stages.back();
      for (size_t p = 0; p < prev.size(); ++p) {
        for (int option : options) {
          PlanState s;
          s.clock = prev[p].clock;
          s.network = prev[p].network->clone();
          const double begin = s.clock.next_start(view.overlap);
          const double arrival = s.network->transfer(view.bytes(chunk, option), begin);
          s.clock.add(arrival, view.compute_s(chunk, option));
          s.loss = prev[p].loss + quality_loss(option);
          s.parent = static_cast<int64_t>(p);
          s.option = option;
          next.push_back(std::move(s));
        }
      }
      stages.push_back(pareto_front(std::move(next)));
    }
    // Pick the final state, then walk the parents back.
    const auto& last = stages.back();
    auto ttft = [&](const PlanState& s) { return s.clock.compute_free_s + view.costs.question_s; };
    auto key = [&](const PlanState& s) {
      const bool met = ttft(s) <= view.slo_s;
      return met ? std::make_tuple(0, static_cast<double>(s.loss), ttft(s))
                 : std::make_tuple(1, ttft(s), static_cast<double>(s.loss));
    };
    size_t best = 0;
    for (size_t i = 1; i < last.size(); ++i) {
      if (key(last[i]) < key(last[best]))
        best = i;
    }
    std::vector<int> plan(static_cast<size_t>(view.store.chunk_count()));
    auto at = static_cast<int64_t>(best);
    for (size_t stage = stages.size() - 1; stage > 0; --stage) {
      const PlanState& s = stages[stage][static_cast<size_t>(at)];
      plan[stage - 1] = s.option;
      at = s.parent;
    }
    return plan;
  }

  // Drops every state that another state matches or beats on loss, network and GPU time.
  // States are taken by increasing loss; `stairs` holds the kept ones' (network, GPU) free
  // times as a staircase (GPU time falls as network time grows), so each check is a lookup.
  static std::vector<PlanState> pareto_front(std::vector<PlanState> states) {
    std::stable_sort(states.begin(), states.end(), [](const PlanState& a, const PlanState& b) {
      return std::tie(a.loss, a.clock.net_free_s, a.clock.compute_free_s) <
             std::tie(b.loss, b.clock.net_free_s, b.clock.compute_free_s);
    });
    std::vector<PlanState> kept;
    std::map<double, double> stairs;  // network free -> least GPU free among kept states
    for (PlanState& s : states) {
      const double net = s.clock.net_free_s, gpu = s.clock.compute_free_s;
      auto at = stairs.upper_bound(net);  // first step with a later network time
      if (at != stairs.begin() && std::prev(at)->second <= gpu)
        continue;  // a kept state is no worse on all three
      while (at != stairs.end() && at->second >= gpu)
        at = stairs.erase(at);
      stairs[net] = gpu;
      kept.push_back(std::move(s));
    }
    return kept;
  }

  std::vector<int> plan_;
};
}  // namespace

CACHEGEN_REGISTER(controller_registry(),
                  {"oracle",
                   "knows the future bandwidth; follows the best plan (an upper bound)",
                   {}},
                  [](const Options&) { return std::make_unique<OracleController>(); });

}  // namespace cachegen
