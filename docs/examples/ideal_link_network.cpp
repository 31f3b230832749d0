// Example network model (docs/extending.md): `ideal_link`, a path with no transport protocol:
// each chunk's bytes go out at the trace's full rate (no headers, no slow start, no loss) and
// arrive one RTT after the request. An upper bound on what any transport achieves.
//
// It takes the shared network settings (network_options(): net.bandwidth_gbps, net.trace,
// net.rtt_ms, ...), so every config and sweep key works with it unchanged; a model with
// settings of its own would declare its own schema instead. As a real plug-in this file goes
// into netsim/src/networks/; here it is compiled into the network conformance test only.
#include <algorithm>
#include <memory>

#include "cachegen/core/network.h"
#include "cachegen/netsim/network_config.h"

namespace cachegen {

namespace {
class IdealLink : public NetworkModel {
 public:
  explicit IdealLink(NetworkConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "ideal_link"; }

  double transfer(uint64_t bytes, double start_s) override {
    // The request reaches the sender after half an RTT; the link is free once the previous
    // chunk has left; the last byte lands half an RTT after it leaves.
    const double half_rtt = config_.rtt_s / 2;
    const double leave = std::max(start_s + half_rtt, link_free_s_);
    link_free_s_ = config_.trace.time_to_send(8.0 * static_cast<double>(bytes), leave);
    return link_free_s_ + half_rtt;
  }
  std::unique_ptr<NetworkModel> clone() const override {
    return std::make_unique<IdealLink>(*this);
  }

 private:
  NetworkConfig config_;
  double link_free_s_ = 0;  // when the sender's link has sent everything asked so far
};
}  // namespace

CACHEGEN_REGISTER(network_registry(),
                  {"ideal_link", "example: the trace's full rate after one RTT, no protocol",
                   network_options(), check_network_options},
                  [](const Options& options) {
                    return std::make_unique<IdealLink>(network_config_from(options));
                  });

}  // namespace cachegen
