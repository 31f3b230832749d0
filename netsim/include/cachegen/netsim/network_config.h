// Settings shared by the network models, read from options (a config or `--opt` pairs).
//
//   bandwidth_gbps     constant link rate (when no trace is given)       default 3 (the paper's)
//   trace              bandwidth trace file (CSV or Mahimahi)
//   trace_format       auto | csv | mahimahi                              default auto
//   mahimahi_bin_ms    Mahimahi trace -> rate bins                        default 10
//   rtt_ms             round-trip propagation time                        default 10
//   mtu                link MTU in bytes; TCP segments are MTU - 52       default 1500
//   queue_packets      bottleneck queue (ns3); 0 = one BDP at the peak rate, at least 100
//   loss_rate          random packet loss on the bottleneck (ns3)         default 0
//   congestion_control ns-3 TCP variant (ns3): cubic, newreno, bbr, ...   default cubic
//   hystart            CUBIC's HyStart slow-start exit (ns3)              default off
//   seed               random streams (ns3)                               default 1
//   slow_start         model TCP slow start (fluid)                       default off
//   initial_cwnd       initial window in segments (fluid; ns3 uses 10)    default 10
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cachegen/core/bandwidth_trace.h"
#include "cachegen/core/options.h"

namespace cachegen {

struct NetworkConfig {
  BandwidthTrace trace = BandwidthTrace::constant(3e9);
  double rtt_s = 0.010;
  int mtu = 1500;
  int64_t queue_packets = 0;
  double loss_rate = 0;
  std::string congestion_control = "cubic";
  bool hystart = false;
  uint64_t seed = 1;
  bool slow_start = false;
  int initial_cwnd = 10;

  int mss() const { return mtu - 52; }  // IPv4 20 + TCP 20 + timestamp option 12
  // Payload bytes per byte on the wire: MSS over MTU plus the 2-byte point-to-point header.
  double payload_efficiency() const { return static_cast<double>(mss()) / (mtu + 2); }
  double bdp_bytes() const { return trace.max_rate_bps() / 8 * rtt_s; }
};

// Reads the keys above; `context` names the owner in errors.
NetworkConfig network_config_from(Options& options);

// The TCP variants ns-3 3.37 offers, by the short names `congestion_control` accepts.
const std::vector<std::string>& tcp_variant_names();

}  // namespace cachegen
