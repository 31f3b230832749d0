#include "cachegen/netsim/bandwidth_trace.h"

#include <algorithm>
#include <cmath>

#include "cachegen/core/error.h"

namespace cachegen {

BandwidthTrace::BandwidthTrace(std::vector<TracePoint> points, std::string source)
    : points_(std::move(points)), source_(std::move(source)) {
  if (points_.empty())
    fail("bandwidth trace '", source_, "' has no points");
  if (points_[0].time_s != 0) {
    fail("bandwidth trace '", source_, "' must start at time 0, not ", points_[0].time_s);
  }
  for (size_t i = 0; i < points_.size(); ++i) {
    if (!(points_[i].rate_bps > 0) || !std::isfinite(points_[i].rate_bps)) {
      fail("bandwidth trace '", source_, "' point ", i, ": rate must be positive and finite");
    }
    if (i > 0 && !(points_[i].time_s > points_[i - 1].time_s)) {
      fail("bandwidth trace '", source_, "' point ", i, ": times must increase");
    }
  }
}

BandwidthTrace BandwidthTrace::constant(double rate_bps) {
  return BandwidthTrace({{0.0, rate_bps}}, "constant");
}

size_t BandwidthTrace::segment_at(double time_s) const {
  auto it = std::upper_bound(points_.begin(), points_.end(), time_s,
                             [](double t, const TracePoint& p) { return t < p.time_s; });
  return it == points_.begin() ? 0 : static_cast<size_t>(it - points_.begin()) - 1;
}

double BandwidthTrace::rate_at(double time_s) const {
  return points_[segment_at(time_s)].rate_bps;
}

double BandwidthTrace::max_rate_bps() const {
  double m = 0;
  for (const TracePoint& p : points_)
    m = std::max(m, p.rate_bps);
  return m;
}

double BandwidthTrace::bits_between(double from_s, double to_s) const {
  double bits = 0;
  for (size_t i = segment_at(from_s); i < points_.size() && from_s < to_s; ++i) {
    double end = i + 1 < points_.size() ? std::min(points_[i + 1].time_s, to_s) : to_s;
    bits += (end - from_s) * points_[i].rate_bps;
    from_s = end;
  }
  return bits;
}

double BandwidthTrace::time_to_send(double bits, double from_s) const {
  double t = from_s;
  for (size_t i = segment_at(from_s);; ++i) {
    double rate = points_[i].rate_bps;
    if (i + 1 == points_.size())
      return t + bits / rate;
    double capacity = (points_[i + 1].time_s - t) * rate;
    if (capacity >= bits)
      return t + bits / rate;
    bits -= capacity;
    t = points_[i + 1].time_s;
  }
}

}  // namespace cachegen
