// Rate allocation across independently coded components (the kvtc codec's principal
// components): each component j offers choices k = 0, 1, ... with a measured rate (bits) and
// distortion (squared error); pick one choice per component to minimise total distortion with
// total rate <= budget.
//
// Method: the lower convex hull of each component's (rate, distortion) points, then every hull
// segment of every component taken in order of decreasing slope -dD/dR (Shoham and Gersho,
// "Efficient bit allocation for an arbitrary set of quantizers", 1988: the Lagrangian solution),
// skipping a segment that no longer fits (and the rest of its component) and going on with the
// others. The result is optimal (equal to an exhaustive search) whenever the budget is the rate
// of a Lagrangian solution, i.e. a point where every taken segment is steeper than every
// untaken one; between those points it is the greedy fill of the remaining budget. An exact
// knapsack over real-valued rates is NP-hard, and kvtc's chunks have ~10^4 components with
// rates measured to fractions of a bit, which rules out a dynamic program over rate units.
#pragma once

#include <cstdint>
#include <vector>

namespace cachegen {

struct RateDistortion {
  double bits = 0;
  double distortion = 0;
};

// choices[j][k]: component j's choice k; choice 0 must be the cheapest (kvtc: dropped, 0 bits).
// Returns the chosen k per component (0 where nothing fits).
std::vector<int> allocate_rate(const std::vector<std::vector<RateDistortion>>& choices,
                               double budget_bits);

// The Lagrangian solutions' budgets: total rates at which allocate_rate is exactly optimal (for
// tests and for a caller that wants no greedy fill).
std::vector<double> lagrangian_budgets(const std::vector<std::vector<RateDistortion>>& choices);

}  // namespace cachegen
