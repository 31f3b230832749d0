// netsim and trace: the network models and bandwidth traces on the command line.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/core/timer.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/provenance.h"
#include "cachegen/netsim/trace_io.h"

namespace cachegen {

namespace {
std::vector<uint64_t> parse_sizes(const std::string& text) {
  std::vector<uint64_t> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || item[0] == '-') {
      fail("cachegen netsim: --bytes item '", item, "' is not a byte count");
    }
    sizes.push_back(n);
  }
  if (sizes.empty())
    fail("cachegen netsim: --bytes needs at least one size");
  return sizes;
}
}  // namespace

int run_netsim(int argc, char** argv) {
  CliArgs args("netsim", argc, argv, {"backend", "bytes", "net"}, {"json"});
  args.expect_positionals(0, 0,
                          "--backend ns3|fluid --bytes N[,N...] [--net KEY=VALUE ...] [--json] "
                          "(KEY: the network options, `cachegen list`; e.g. --net trace=FILE "
                          "--net rtt_ms=10)");
  Options options = assignments(args, "net", "command line");
  if (!args.has("bytes"))
    fail("cachegen netsim: --bytes N[,N...] is required");
  std::vector<uint64_t> sizes = parse_sizes(args.get("bytes", ""));
  const std::string backend = args.get("backend", "fluid");
  std::unique_ptr<NetworkModel> net = make_network(backend, options);

  // Chunks go back to back: each is asked for when the previous one has arrived.
  Stopwatch wall;
  std::vector<double> done;
  std::vector<std::map<std::string, int64_t>> events;  // each chunk's transport events
  double t = 0;
  uint64_t total = 0;
  for (uint64_t bytes : sizes) {
    std::map<std::string, int64_t> before = net->events();
    done.push_back(t = net->transfer(bytes, t));
    total += bytes;
    events.push_back(net->events());
    for (auto& [name, count] : events.back())
      count -= before[name];
  }
  const double goodput_gbps = t > 0 ? static_cast<double>(total) * 8 / t / 1e9 : 0;
  if (args.has("json")) {
    nlohmann::ordered_json out;
    out["backend"] = backend;
    out["chunks"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < sizes.size(); ++i) {
      nlohmann::ordered_json chunk{{"bytes", sizes[i]}, {"done_s", done[i]}};
      for (const auto& [name, count] : events[i])
        chunk[name] = count;
      out["chunks"].push_back(chunk);
    }
    out["goodput_gbps"] = goodput_gbps;
    out["wall_s"] = wall.seconds();
    out["build"] = build_provenance();  // which program produced these numbers
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-6s %14s %12s", "chunk", "bytes", "done_s");
  for (const auto& [name, count] : events.front())
    std::printf(" %s", name.c_str());
  std::printf("\n");
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::printf("%-6zu %14llu %12.6f", i, static_cast<unsigned long long>(sizes[i]), done[i]);
    for (const auto& [name, count] : events[i])
      std::printf(" %*lld", static_cast<int>(name.size()), static_cast<long long>(count));
    std::printf("\n");
  }
  std::printf("goodput %.4f Gbps over %.6f s (%s, %.3f s wall)\n", goodput_gbps, t, backend.c_str(),
              wall.seconds());
  return 0;
}

int run_trace(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) != "gen") {
    fail("usage: cachegen trace gen --kind constant|uniform|markov|step ... --out FILE.csv");
  }
  CliArgs args(
      "trace gen", argc - 1, argv + 1,
      {"kind", "out", "gbps", "low-gbps", "high-gbps", "interval-s", "duration-s", "on-gbps",
       "off-gbps", "mean-on-s", "mean-off-s", "before-gbps", "after-gbps", "at-s", "seed"},
      {});
  args.expect_positionals(0, 0,
                          "--kind constant --gbps X | --kind uniform --low-gbps A --high-gbps B "
                          "--interval-s I --duration-s D [--seed S] | --kind markov --on-gbps A "
                          "--off-gbps B --mean-on-s X --mean-off-s Y --duration-s D [--seed S] | "
                          "--kind step --before-gbps A --after-gbps B --at-s T; then --out FILE");
  auto number = [&](const char* flag) {
    if (!args.has(flag))
      fail("cachegen trace gen: --", flag, " is required for this kind");
    std::string text = args.get(flag, "");
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0')
      fail("cachegen trace gen: --", flag, " '", text, "' is not a number");
    return v;
  };
  const std::string kind = args.get("kind", "");
  const auto seed = static_cast<uint64_t>(args.get_int("seed", 1));
  BandwidthTrace trace;
  if (kind == "constant") {
    trace = constant_trace(number("gbps"));
  } else if (kind == "uniform") {
    trace = uniform_trace(number("low-gbps"), number("high-gbps"), number("interval-s"),
                          number("duration-s"), seed);
  } else if (kind == "markov") {
    trace = markov_trace(number("on-gbps"), number("off-gbps"), number("mean-on-s"),
                         number("mean-off-s"), number("duration-s"), seed);
  } else if (kind == "step") {
    trace = step_trace(number("before-gbps"), number("after-gbps"), number("at-s"));
  } else {
    fail("cachegen trace gen: unknown --kind '", kind, "'; valid: constant, markov, step, uniform");
  }
  const std::string out = args.get("out", "");
  if (out.empty())
    fail("cachegen trace gen: --out FILE.csv is required");
  save_csv_trace(out, trace);
  std::printf("%s: %zu points, %s\n", out.c_str(), trace.points().size(), trace.source().c_str());
  return 0;
}

}  // namespace cachegen
