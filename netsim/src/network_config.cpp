#include "cachegen/netsim/network_config.h"

#include "cachegen/core/error.h"
#include "cachegen/netsim/trace_io.h"

namespace cachegen {

const std::vector<std::string>& tcp_variant_names() {
  static const std::vector<std::string> names = {
      "bbr",      "bic",      "cubic",  "dctcp",     "highspeed", "htcp",
      "hybla",    "illinois", "ledbat", "linuxreno", "lp",        "newreno",
      "scalable", "vegas",    "veno",   "westwood",  "yeah"};
  return names;
}

const OptionSchema& network_options() {
  static const OptionSchema schema = {
      number_option("bandwidth_gbps", 3, 1e-6, 1e6,
                    "constant link rate when no trace is given (the paper's 3 Gbps)"),
      file_option("trace", "bandwidth trace file (CSV time_s,bandwidth_mbps, or Mahimahi)"),
      choice_option("trace_format", "auto", {"auto", "csv", "mahimahi"}, "the trace's format"),
      number_option("mahimahi_bin_ms", 10, 0.001, 1e6, "Mahimahi trace -> rate bins (ms)"),
      choice_option("trace_clock", "time", {"time", "chunk"},
                    "time: the trace's rate changes with time; chunk: its time column counts "
                    "chunks, each transfer at one rate (the reference's per-chunk bandwidth; "
                    "fluid)"),
      number_option("rtt_ms", 10, 0.001, 1e6, "round-trip propagation time (ms)"),
      integer_option("mtu", 1500, 576, 65535, "link MTU in bytes; TCP segments are MTU - 52"),
      integer_option("queue_packets", 0, 0, int64_t{1} << 30,
                     "bottleneck queue (ns3); 0: one BDP at the peak rate, at least 100"),
      number_option("loss_rate", 0, 0, 0.5, "random packet loss on the bottleneck (ns3)"),
      choice_option("congestion_control", "cubic", tcp_variant_names(), "TCP variant (ns3)"),
      bool_option("hystart", false, "CUBIC's HyStart slow-start exit (ns3)"),
      bool_option("pacing", false,
                  "TCP pacing at the window over the RTT (ns3; off: a window leaves as a burst)"),
      integer_option("seed", 1, 1, int64_t{1} << 31, "random streams (ns3)"),
      bool_option("slow_start", true, "model TCP slow start (fluid; off: the link rate at once)"),
      integer_option("initial_cwnd", 10, 1, 1 << 20,
                     "initial window in segments (fluid; ns3 uses 10)")};
  return schema;
}

NetworkConfig network_config_from(const Options& options) {
  NetworkConfig c;
  if (!options.text("trace").empty()) {
    if (options.has("bandwidth_gbps"))
      fail(options.context(), ": give trace or bandwidth_gbps, not both");
    c.trace = load_trace(options.text("trace"), options.text("trace_format"),
                         options.number("mahimahi_bin_ms"));
  } else {
    c.trace = constant_trace(options.number("bandwidth_gbps"));
  }
  c.trace_per_chunk = options.text("trace_clock") == "chunk";
  c.rtt_s = options.number("rtt_ms") / 1000;
  c.mtu = static_cast<int>(options.integer("mtu"));
  c.queue_packets = options.integer("queue_packets");
  c.loss_rate = options.number("loss_rate");
  c.congestion_control = options.text("congestion_control");
  c.hystart = options.flag("hystart");
  c.pacing = options.flag("pacing");
  c.seed = static_cast<uint64_t>(options.integer("seed"));
  c.slow_start = options.flag("slow_start");
  c.initial_cwnd = static_cast<int>(options.integer("initial_cwnd"));
  return c;
}

void check_network_options(const Options& options) {
  network_config_from(options);
}

}  // namespace cachegen
