#include "cachegen/codec/bit_allocation.h"

#include <algorithm>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
struct Segment {
  double slope;  // distortion saved per bit
  double bits;   // rate added
  int32_t component;
  int32_t to;    // choice reached
  int32_t rank;  // position along the component's hull
};

// The hull vertices of one component, cheapest first: choice indices on the lower convex hull
// of (bits, distortion), with distortion strictly decreasing.
std::vector<int> lower_hull(const std::vector<RateDistortion>& points) {
  std::vector<int> order(points.size());
  for (size_t k = 0; k < order.size(); ++k)
    order[k] = static_cast<int>(k);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const RateDistortion &p = points[static_cast<size_t>(a)], &q = points[static_cast<size_t>(b)];
    return p.bits < q.bits || (p.bits == q.bits && p.distortion < q.distortion);
  });
  std::vector<int> hull;
  for (int k : order) {
    const RateDistortion& p = points[static_cast<size_t>(k)];
    if (!hull.empty() && p.distortion >= points[static_cast<size_t>(hull.back())].distortion)
      continue;  // costs more and is no better
    // Pop vertices that lie on or above the line from their predecessor to p.
    while (hull.size() >= 2) {
      const RateDistortion& a = points[static_cast<size_t>(hull[hull.size() - 2])];
      const RateDistortion& b = points[static_cast<size_t>(hull.back())];
      const double cross = (b.bits - a.bits) * (p.distortion - a.distortion) -
                           (b.distortion - a.distortion) * (p.bits - a.bits);
      if (cross > 0)
        break;
      hull.pop_back();
    }
    hull.push_back(k);
  }
  return hull;
}

std::vector<Segment> hull_segments(const std::vector<std::vector<RateDistortion>>& choices,
                                   std::vector<double>* base_bits) {
  std::vector<Segment> segments;
  for (size_t j = 0; j < choices.size(); ++j) {
    const std::vector<RateDistortion>& points = choices[j];
    if (points.empty())
      fail("rate allocation: component ", j, " has no choice");
    for (size_t k = 1; k < points.size(); ++k) {
      if (points[k].bits < points[0].bits)
        fail("rate allocation: component ", j, "'s choice 0 is not its cheapest");
    }
    const std::vector<int> hull = lower_hull(points);
    if (base_bits)
      base_bits->push_back(points[0].bits);
    // Starts from choice 0; a better choice of equal rate (the hull's first vertex) then comes
    // as a segment of zero bits, taken first.
    int from = 0;
    int rank = 0;
    for (int k : hull) {
      const RateDistortion& a = points[static_cast<size_t>(from)];
      const RateDistortion& b = points[static_cast<size_t>(k)];
      if (k == from || b.distortion >= a.distortion)
        continue;
      const double bits = b.bits - a.bits;
      const double slope = bits <= 0 ? 1e300 : (a.distortion - b.distortion) / bits;
      segments.push_back({slope, bits, static_cast<int32_t>(j), static_cast<int32_t>(k), rank++});
      from = k;
    }
  }
  // Steepest first; ties by component then rank, so the order is total and deterministic.
  std::sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) {
    if (a.slope != b.slope)
      return a.slope > b.slope;
    if (a.component != b.component)
      return a.component < b.component;
    return a.rank < b.rank;
  });
  return segments;
}
}  // namespace

std::vector<int> allocate_rate(const std::vector<std::vector<RateDistortion>>& choices,
                               double budget_bits) {
  std::vector<double> base;
  const std::vector<Segment> segments = hull_segments(choices, &base);
  double spent = 0;
  for (double b : base)
    spent += b;
  std::vector<int> chosen(choices.size(), 0);
  std::vector<int32_t> next_rank(choices.size(), 0);  // -1: the component is closed
  for (const Segment& s : segments) {
    int32_t& rank = next_rank[static_cast<size_t>(s.component)];
    if (rank != s.rank)
      continue;  // an earlier segment of this component did not fit
    if (spent + s.bits > budget_bits) {
      rank = -1;
      continue;
    }
    spent += s.bits;
    chosen[static_cast<size_t>(s.component)] = s.to;
    ++rank;
  }
  return chosen;
}

std::vector<double> lagrangian_budgets(const std::vector<std::vector<RateDistortion>>& choices) {
  std::vector<double> base;
  const std::vector<Segment> segments = hull_segments(choices, &base);
  double spent = 0;
  for (double b : base)
    spent += b;
  std::vector<double> budgets = {spent};
  for (size_t i = 0; i < segments.size(); ++i) {
    spent += segments[i].bits;
    // A prefix is a Lagrangian solution where the next segment is strictly less steep.
    if (i + 1 == segments.size() || segments[i + 1].slope < segments[i].slope)
      budgets.push_back(spent);
  }
  return budgets;
}

}  // namespace cachegen
