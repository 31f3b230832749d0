#include "cachegen/core/controller.h"

#include <algorithm>

namespace cachegen {

uint64_t StreamView::bytes(int64_t chunk, int level) const {
  const StoredChunk& c = store.chunks()[static_cast<size_t>(chunk)];
  return level == kTextLevel ? c.text_bytes : c.bitstreams[static_cast<size_t>(level)].size();
}

double StreamView::compute_s(int64_t chunk, int level) const {
  const auto i = static_cast<size_t>(chunk);
  return level == kTextLevel ? costs.recompute_s[i] : costs.decode_s[i][static_cast<size_t>(level)];
}

int64_t quality_loss(int level) {
  return level == kTextLevel ? 0 : level + 1;
}

double PipelineClock::next_start(bool overlap) const {
  return overlap ? net_free_s : std::max(net_free_s, compute_free_s);
}

double PipelineClock::add(double arrival_s, double compute_s) {
  const double start = std::max(arrival_s, compute_free_s);
  net_free_s = arrival_s;
  compute_free_s = start + compute_s;
  return start;
}

std::unique_ptr<Controller> make_controller(const std::string& name, Options options) {
  std::unique_ptr<Controller> controller = controller_registry().create(name, options);
  options.finish();
  return controller;
}

}  // namespace cachegen
