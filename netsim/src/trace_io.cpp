#include "cachegen/netsim/trace_io.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>
#include <vector>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
constexpr char kCsvHeader[] = "time_s,bandwidth_mbps";
constexpr long long kMaxMillisecond = 1LL << 53;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

double parse_number(const std::string& text, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
    fail(where, ": '", text, "' is not a number");
  }
  return v;
}

std::string text_of(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}
}  // namespace

BandwidthTrace parse_csv_trace(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool header = false;
  std::vector<TracePoint> points;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line[0] == '#')
      continue;
    std::string where = str(source, " line ", number);
    if (!header) {
      if (line != kCsvHeader)
        fail(where, ": expected the header '", kCsvHeader, "'");
      header = true;
      continue;
    }
    size_t comma = line.find(',');
    if (comma == std::string::npos || line.find(',', comma + 1) != std::string::npos) {
      fail(where, ": expected two columns time_s,bandwidth_mbps");
    }
    double t = parse_number(trim(line.substr(0, comma)), where + " column time_s");
    double mbps = parse_number(trim(line.substr(comma + 1)), where + " column bandwidth_mbps");
    if (points.empty() && t != 0)
      fail(where, ": the first point must be at time 0");
    if (!points.empty() && !(t > points.back().time_s)) {
      fail(where, ": time ", t, " does not increase (previous ", points.back().time_s, ")");
    }
    if (!(mbps > 0))
      fail(where, ": bandwidth must be positive, not ", mbps);
    points.push_back({t, mbps * 1e6});
  }
  if (!header)
    fail(source, ": empty trace (needs the header '", kCsvHeader, "')");
  if (points.empty())
    fail(source, ": no points after the header");
  return BandwidthTrace(std::move(points), source);
}

BandwidthTrace parse_mahimahi_trace(const std::string& text, const std::string& source,
                                    double bin_ms) {
  if (!(bin_ms > 0))
    fail(source, ": Mahimahi bin must be positive");
  std::istringstream in(text);
  std::string line;
  int number = 0;
  std::vector<int64_t> deliveries;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty())
      continue;
    std::string where = str(source, " line ", number);
    char* end = nullptr;
    errno = 0;
    long long ms = std::strtoll(line.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || ms < 0) {
      fail(where, ": '", line, "' is not a non-negative integer millisecond");
    }
    // Bins are computed in doubles: past 2^53 ms (285,000 years) milliseconds stop being exact.
    if (ms > kMaxMillisecond)
      fail(where, ": millisecond ", ms, " is beyond the largest supported, ", kMaxMillisecond);
    if (!deliveries.empty() && ms < deliveries.back()) {
      fail(where, ": millisecond ", ms, " goes back in time (previous ", deliveries.back(), ")");
    }
    deliveries.push_back(ms);
  }
  if (deliveries.empty())
    fail(source, ": no delivery opportunities");
  // One period lasts until the last opportunity's millisecond ends.
  const double period_ms = static_cast<double>(deliveries.back() + 1);
  const double bin_count = std::ceil(period_ms / bin_ms);
  // Every bin needs a delivery, so a trace has at most as many bins as deliveries: find the
  // first empty bin before allocating (a huge millisecond would otherwise ask for huge memory).
  if (bin_count > static_cast<double>(deliveries.size())) {
    double expected = 0;  // the next bin that needs a delivery
    for (int64_t ms : deliveries) {
      const double bin = std::floor(static_cast<double>(ms) / bin_ms);
      if (bin > expected)
        break;
      expected = bin + 1;
    }
    fail(source, ": no delivery opportunity in ", bin_ms, " ms from ", expected * bin_ms,
         " ms; use a larger bin");
  }
  const auto bins = static_cast<size_t>(bin_count);
  std::vector<double> bytes(bins, 0);
  for (int64_t ms : deliveries) {
    // ms < period_ms, so the bin is below bin_count; min() guards the division's rounding.
    const auto bin = static_cast<size_t>(std::floor(static_cast<double>(ms) / bin_ms));
    bytes[std::min(bin, bins - 1)] += 1500;
  }
  std::vector<TracePoint> points;
  for (size_t b = 0; b < bins; ++b) {
    double width_s = std::min(bin_ms, period_ms - static_cast<double>(b) * bin_ms) / 1000;
    double rate = bytes[b] * 8 / width_s;
    if (rate <= 0) {
      fail(source, ": no delivery opportunity in ", bin_ms, " ms from ",
           static_cast<double>(b) * bin_ms, " ms; use a larger bin");
    }
    if (points.empty() || points.back().rate_bps != rate) {
      points.push_back({static_cast<double>(b) * bin_ms / 1000, rate});
    }
  }
  return BandwidthTrace(std::move(points), source);
}

BandwidthTrace load_trace(const std::string& path, const std::string& format,
                          double mahimahi_bin_ms) {
  std::string text = text_of(path);
  std::string chosen = format;
  if (format == "auto") {
    std::string first = trim(text.substr(0, text.find('\n')));
    chosen = first == kCsvHeader ? "csv" : "mahimahi";
  }
  if (chosen == "csv")
    return parse_csv_trace(text, path);
  if (chosen == "mahimahi")
    return parse_mahimahi_trace(text, path, mahimahi_bin_ms);
  fail("trace '", path, "': unknown format '", format, "'; valid: auto, csv, mahimahi");
}

std::string format_csv_trace(const BandwidthTrace& trace) {
  std::ostringstream out;
  out.precision(12);
  out << kCsvHeader << "\n";
  for (const TracePoint& p : trace.points())
    out << p.time_s << "," << p.rate_bps / 1e6 << "\n";
  return out.str();
}

void save_csv_trace(const std::string& path, const BandwidthTrace& trace) {
  std::string text = format_csv_trace(trace);
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()));
}

BandwidthTrace constant_trace(double gbps) {
  return BandwidthTrace({{0, gbps * 1e9}}, str("constant ", gbps, " Gbps"));
}

BandwidthTrace uniform_trace(double low_gbps, double high_gbps, double interval_s,
                             double duration_s, uint64_t seed) {
  if (!(low_gbps > 0) || !(high_gbps >= low_gbps) || !(interval_s > 0) || !(duration_s > 0)) {
    fail("uniform trace: needs 0 < low <= high, interval > 0 and duration > 0");
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> rate(low_gbps, high_gbps);
  std::vector<TracePoint> points;
  for (int64_t i = 0; static_cast<double>(i) * interval_s < duration_s; ++i) {
    points.push_back({static_cast<double>(i) * interval_s, rate(rng) * 1e9});
  }
  return BandwidthTrace(std::move(points), str("uniform [", low_gbps, ", ", high_gbps,
                                               "] Gbps every ", interval_s, " s, seed ", seed));
}

BandwidthTrace markov_trace(double on_gbps, double off_gbps, double mean_on_s, double mean_off_s,
                            double duration_s, uint64_t seed) {
  if (!(on_gbps > 0) || !(off_gbps > 0) || !(mean_on_s > 0) || !(mean_off_s > 0) ||
      !(duration_s > 0)) {
    fail("markov trace: rates, mean holding times and duration must be positive");
  }
  std::mt19937_64 rng(seed);
  std::vector<TracePoint> points;
  bool on = true;
  for (double t = 0; t < duration_s; on = !on) {
    points.push_back({t, (on ? on_gbps : off_gbps) * 1e9});
    std::exponential_distribution<double> hold(1.0 / (on ? mean_on_s : mean_off_s));
    t += std::max(hold(rng), 1e-6);
  }
  return BandwidthTrace(std::move(points),
                        str("markov on ", on_gbps, " / off ", off_gbps, " Gbps, seed ", seed));
}

BandwidthTrace step_trace(double before_gbps, double after_gbps, double at_s) {
  if (!(at_s > 0))
    fail("step trace: the step time must be positive");
  return BandwidthTrace({{0, before_gbps * 1e9}, {at_s, after_gbps * 1e9}},
                        str("step ", before_gbps, " -> ", after_gbps, " Gbps at ", at_s, " s"));
}

}  // namespace cachegen
