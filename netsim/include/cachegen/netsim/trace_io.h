// Bandwidth traces on disk, and generators.
//
// CSV: a header line `time_s,bandwidth_mbps`, then one point per line; times start at 0 and
// increase, rates are positive. Mahimahi: one integer per line, the millisecond at which one
// 1500-byte packet may be delivered (the file repeats when it runs out); it is converted to a
// piecewise-constant rate in `mahimahi_bin_ms` bins over one period.
#pragma once

#include <cstdint>
#include <string>

#include "cachegen/netsim/bandwidth_trace.h"

namespace cachegen {

// format: "csv", "mahimahi" or "auto" (CSV if the first line is the CSV header). Errors name
// the file and line.
BandwidthTrace load_trace(const std::string& path, const std::string& format = "auto",
                          double mahimahi_bin_ms = 10);
BandwidthTrace parse_csv_trace(const std::string& text, const std::string& source);
BandwidthTrace parse_mahimahi_trace(const std::string& text, const std::string& source,
                                    double bin_ms);
std::string format_csv_trace(const BandwidthTrace& trace);
void save_csv_trace(const std::string& path, const BandwidthTrace& trace);  // atomic

// Generators. Rates in Gbps, times in seconds; the random ones are deterministic in `seed`.
BandwidthTrace constant_trace(double gbps);
// A new rate drawn from Uniform[low, high] every interval (the reference: [0.1, 10] per chunk).
BandwidthTrace uniform_trace(double low_gbps, double high_gbps, double interval_s,
                             double duration_s, uint64_t seed);
// Two-state Markov chain (on/off rates) with exponential holding times of the given means.
BandwidthTrace markov_trace(double on_gbps, double off_gbps, double mean_on_s, double mean_off_s,
                            double duration_s, uint64_t seed);
// before_gbps until at_s, then after_gbps.
BandwidthTrace step_trace(double before_gbps, double after_gbps, double at_s);

}  // namespace cachegen
