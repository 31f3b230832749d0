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

namespace {
double get_double(Options& options, const std::string& key, double fallback, double min,
                  double max) {
  std::string text = options.get_string(key, "");
  if (text.empty())
    return fallback;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !(v >= min && v <= max)) {
    fail("network option '", key, "'='", text, "' is not a number in [", min, ", ", max, "]");
  }
  return v;
}
}  // namespace

NetworkConfig network_config_from(Options& options) {
  NetworkConfig c;
  std::string trace = options.get_string("trace", "");
  std::string format = options.get_choice("trace_format", "auto", {"auto", "csv", "mahimahi"});
  double bin_ms = get_double(options, "mahimahi_bin_ms", 10, 0.001, 1e6);
  double gbps = get_double(options, "bandwidth_gbps", 3, 1e-6, 1e6);
  if (!trace.empty()) {
    if (options.has("bandwidth_gbps"))
      fail("network options: give trace or bandwidth_gbps, not both");
    c.trace = load_trace(trace, format, bin_ms);
  } else {
    c.trace = constant_trace(gbps);
  }
  c.rtt_s = get_double(options, "rtt_ms", 10, 0.001, 1e6) / 1000;
  c.mtu = static_cast<int>(options.get_int("mtu", 1500, 576, 65535));
  c.queue_packets = options.get_int("queue_packets", 0, 0, int64_t{1} << 30);
  c.loss_rate = get_double(options, "loss_rate", 0, 0, 0.5);
  c.congestion_control = options.get_choice("congestion_control", "cubic", tcp_variant_names());
  c.hystart = options.get_bool("hystart", false);
  c.seed = static_cast<uint64_t>(options.get_int("seed", 1, 1, int64_t{1} << 31));
  c.slow_start = options.get_bool("slow_start", false);
  c.initial_cwnd = static_cast<int>(options.get_int("initial_cwnd", 10, 1, 1 << 20));
  return c;
}

}  // namespace cachegen
