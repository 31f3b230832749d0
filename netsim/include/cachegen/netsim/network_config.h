// Settings shared by the network models: the options both models declare, network_options()
// in network_config.cpp (name, type, default, range, help: `cachegen list` prints them). Configs
// write them as `net.KEY` (`net.bandwidth_gbps`, `net.rtt_ms`, `net.loss_rate`, ...), the
// command line as --net-opt KEY=VALUE; nothing else names, defaults or range-checks them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/options.h"
#include "cachegen/netsim/bandwidth_trace.h"

namespace cachegen {

struct NetworkConfig {
  BandwidthTrace trace = BandwidthTrace::constant(3e9);
  // false: the trace's rate changes with simulated time; true: its time column counts chunks,
  // and transfer i runs wholly at the rate in force at i (the reference's oracle per-chunk
  // bandwidth, drawn once per chunk).
  bool trace_per_chunk = false;
  double rtt_s = 0.010;
  int mtu = 1500;
  int64_t queue_packets = 0;
  double loss_rate = 0;
  std::string congestion_control = "cubic";
  bool hystart = false;
  // ns-3: pace segments at the window over the smoothed RTT (ns-3's ratios: 2x in slow start,
  // 1.2x after), as Linux does under the fq qdisc; off, a window leaves as one burst (after an
  // idle round trip between chunks it can overflow a shallow drop-tail queue).
  bool pacing = false;
  uint64_t seed = 1;
  // Fluid model: window-limited rounds first, as TCP's slow start (on by default since
  // 2026-12-02: without it the fluid model finished 100-BDP transfers up to 8% sooner than ns-3).
  bool slow_start = true;
  int initial_cwnd = 10;

  int mss() const { return mtu - 52; }  // IPv4 20 + TCP 20 + timestamp option 12
  // Payload bytes per byte on the wire: MSS over MTU plus the 2-byte point-to-point header.
  double payload_efficiency() const { return static_cast<double>(mss()) / (mtu + 2); }
  double bdp_bytes() const { return trace.max_rate_bps() / 8 * rtt_s; }
};

// The keys above, as a schema.
const OptionSchema& network_options();

// Reads validated options (network_options()); fails when both trace and bandwidth_gbps are set
// or the trace does not parse.
NetworkConfig network_config_from(const Options& options);
// network_config_from() for its errors only: the models' PluginInfo::check.
void check_network_options(const Options& options);

// The TCP variants ns-3 3.37 offers, by the short names `congestion_control` accepts.
const std::vector<std::string>& tcp_variant_names();

}  // namespace cachegen
