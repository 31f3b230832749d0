#include "cachegen/netsim/fluid_network.h"

#include "cachegen/core/error.h"

namespace cachegen {

FluidNetwork::FluidNetwork(NetworkConfig config)
    : config_(std::move(config)),
      cwnd_bytes_(static_cast<double>(config_.initial_cwnd) * config_.mss()),
      window_limited_(config_.slow_start) {}

double FluidNetwork::transfer(uint64_t bytes, double start_s) {
  if (start_s < last_done_s_) {
    fail("fluid network: chunk requested at ", start_s, " s, before the previous one arrived (",
         last_done_s_, " s)");
  }
  const double half_rtt = config_.rtt_s / 2;
  const double wire_per_payload_bit = 1 / config_.payload_efficiency();
  // The time at which `bits` sent from `from_s` have left: at the trace's rate over time, or
  // (chunk clock) at the one rate of this transfer's index.
  const double chunk_rate_bps =
      config_.trace_per_chunk ? config_.trace.rate_at(static_cast<double>(transfers_)) : 0;
  ++transfers_;
  auto time_to_send = [&](double bits, double from_s) {
    return config_.trace_per_chunk ? from_s + bits / chunk_rate_bps
                                   : config_.trace.time_to_send(bits, from_s);
  };
  double t = start_s + half_rtt;  // the request reaches the sender
  double remaining = static_cast<double>(bytes);
  // Slow start: one window per RTT until a window takes at least an RTT to send.
  while (window_limited_ && remaining > 0) {
    double window = std::min(cwnd_bytes_, remaining);
    double sent_at = time_to_send(window * 8 * wire_per_payload_bit, t);
    if (sent_at - t >= config_.rtt_s) {
      window_limited_ = false;  // the window now fills the pipe: fluid from here on
      break;
    }
    remaining -= window;
    cwnd_bytes_ *= 2;
    if (remaining <= 0)
      return last_done_s_ = sent_at + half_rtt;
    t += config_.rtt_s;  // the next window leaves when the first ACKs return
  }
  double sent_at = time_to_send(remaining * 8 * wire_per_payload_bit, t);
  return last_done_s_ = sent_at + half_rtt;
}

CACHEGEN_REGISTER(network_registry(),
                  {"fluid", "bytes at the trace's rate after one RTT; optional slow start",
                   network_options(), check_network_options},
                  [](const Options& options) {
                    return std::make_unique<FluidNetwork>(network_config_from(options));
                  });

}  // namespace cachegen
