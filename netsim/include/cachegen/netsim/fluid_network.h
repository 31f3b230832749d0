// fluid: bytes move at the trace's rate (times the payload share of each packet) once a request
// has crossed half an RTT, and arrive half an RTT after they leave. Exact and fast, for large
// sweeps. With slow_start=on (the default), the first rounds are window-limited: the window starts
// at initial_cwnd segments and doubles every RTT until it fills the pipe; it carries over between
// chunks, like TCP's. With trace_clock=chunk, transfer i runs at the trace's rate at "time" i.
#pragma once

#include <cstdint>
#include <memory>

#include "cachegen/core/network.h"
#include "cachegen/netsim/network_config.h"

namespace cachegen {

class FluidNetwork : public NetworkModel {
 public:
  explicit FluidNetwork(NetworkConfig config);
  std::string name() const override { return "fluid"; }
  double transfer(uint64_t bytes, double start_s) override;
  std::unique_ptr<NetworkModel> clone() const override {
    return std::make_unique<FluidNetwork>(*this);
  }

 private:
  NetworkConfig config_;
  double last_done_s_ = 0;
  double cwnd_bytes_;
  bool window_limited_;
  int64_t transfers_ = 0;  // transfers asked for so far (the chunk clock)
};

}  // namespace cachegen
