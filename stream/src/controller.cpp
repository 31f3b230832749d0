#include "cachegen/stream/controller.h"

#include <algorithm>

namespace cachegen {

uint64_t StreamView::bytes(int64_t chunk, int choice) const {
  const StoredChunk& c = store.chunks()[static_cast<size_t>(chunk)];
  return choice == kTextChoice ? c.text_bytes : c.bitstreams[static_cast<size_t>(choice)].size();
}

double StreamView::compute_s(int64_t chunk, int choice) const {
  const auto i = static_cast<size_t>(chunk);
  return choice == kTextChoice ? costs.recompute_s[i]
                               : costs.decode_s[i][static_cast<size_t>(choice)];
}

int64_t quality_loss(int choice) {
  return choice == kTextChoice ? 0 : choice + 1;
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

ControllerRegistry& controller_registry() {
  static ControllerRegistry registry("controller");
  return registry;
}

std::unique_ptr<Controller> make_controller(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string options = colon == std::string::npos ? "" : spec.substr(colon + 1);
  return controller_registry().create(name, Options::parse(options, "controller '" + name + "'"));
}

}  // namespace cachegen
