// A bandwidth trace: piecewise-constant link rate over simulated time. Point i sets the rate
// from times_s[i] until the next point; the last rate holds forever. Loaders and generators live
// in netsim/; the streaming engine reads traces too (its oracle controller knows the future).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cachegen {

struct TracePoint {
  double time_s;
  double rate_bps;  // bits per second, > 0
};

class BandwidthTrace {
 public:
  BandwidthTrace() = default;
  // Points must start at time 0, have strictly increasing times and positive finite rates;
  // `source` names the trace in errors.
  BandwidthTrace(std::vector<TracePoint> points, std::string source);
  static BandwidthTrace constant(double rate_bps);

  const std::vector<TracePoint>& points() const { return points_; }
  const std::string& source() const { return source_; }
  double rate_at(double time_s) const;
  // Bits the link carries over [from_s, to_s].
  double bits_between(double from_s, double to_s) const;
  // The earliest time t >= from_s with bits_between(from_s, t) = bits.
  double time_to_send(double bits, double from_s) const;
  double max_rate_bps() const;

 private:
  size_t segment_at(double time_s) const;  // index of the point in force at time_s
  std::vector<TracePoint> points_;
  std::string source_;
};

}  // namespace cachegen
