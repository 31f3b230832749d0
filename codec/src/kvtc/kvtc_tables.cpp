#include "kvtc_tables.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace cachegen {

namespace {
constexpr int kScales = 64;

// 2^(-u/4) from exact operations: 2^-(u div 4) times a quarter power from square roots.
double negative_quarter_power(int u) {
  const double quarter = std::sqrt(std::sqrt(0.5));  // 2^-1/4, correctly rounded sqrt twice
  double value = std::ldexp(1.0, -(u / 4));
  for (int i = 0; i < u % 4; ++i)
    value *= quarter;
  return value;
}

struct Tables {
  std::array<FreqTable, kKvtcTableCount> tables;
  std::array<std::array<float, kKvtcAlphabet>, kKvtcTableCount> costs;

  Tables() {
    for (int index = 0; index < kKvtcTableCount; ++index) {
      const bool gaussian = index >= kScales;
      const double r = 1.0 - negative_quarter_power(index % kScales);
      std::array<double, kKvtcLimit + 1> weight{};  // by |n|
      weight[0] = 1.0;
      // Laplace: r^k = r^(k-1) r. Gaussian: r^(k^2) = r^((k-1)^2) r^(2k-1), and
      // r^(2k+1) = r^(2k-1) r^2.
      double step = r;
      for (int k = 1; k <= kKvtcLimit; ++k) {
        weight[static_cast<size_t>(k)] = weight[static_cast<size_t>(k) - 1] * step;
        if (gaussian)
          step *= r * r;
      }
      double escape = 0;  // both tails, in a fixed order so that the sum is reproducible
      for (int k = kKvtcDirect + 1; k <= kKvtcLimit; ++k)
        escape += 2 * weight[static_cast<size_t>(k)];
      std::array<uint32_t, kKvtcAlphabet> counts{};
      for (int s = 0; s < kKvtcEscape; ++s) {
        const double w = weight[static_cast<size_t>(std::abs(s - kKvtcDirect))];
        counts[static_cast<size_t>(s)] = static_cast<uint32_t>(w * 4194304.0 + 0.5);
      }
      counts[kKvtcEscape] = static_cast<uint32_t>(std::min(escape, 256.0) * 4194304.0 + 0.5);
      tables[static_cast<size_t>(index)] =
          FreqTable::from_counts(counts.data(), kKvtcAlphabet, kKvtcPrecision, true);
      const double total = std::ldexp(1.0, kKvtcPrecision);
      for (int s = 0; s < kKvtcAlphabet; ++s) {
        costs[static_cast<size_t>(index)][static_cast<size_t>(s)] =
            static_cast<float>(-std::log2(tables[static_cast<size_t>(index)].freq(s) / total));
      }
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

// Code length of a folded histogram (symbols [low, high] and `escapes` escapes).
double table_bits(int index, const uint32_t* folded, int low, int high, double escapes) {
  const float* cost = kvtc_table_cost(index);
  double bits = escapes * (cost[kKvtcEscape] + kKvtcEscapeBits);
  for (int s = low; s <= high; ++s)
    bits += static_cast<double>(folded[s]) * cost[s];
  return bits;
}
}  // namespace

const FreqTable& kvtc_table(int index) {
  return tables().tables[static_cast<size_t>(index)];
}
const float* kvtc_table_cost(int index) {
  return tables().costs[static_cast<size_t>(index)].data();
}

int kvtc_best_table(const uint32_t* counts, double* bits) {
  std::array<uint32_t, kKvtcAlphabet> folded{};
  int low = kKvtcAlphabet, high = -1;
  double total = 0, sum_abs = 0, sum_square = 0, escapes = 0;
  for (int i = 0; i < kKvtcHistogram; ++i) {
    if (counts[i] == 0)
      continue;
    const int n = i - kKvtcLimit;
    const double c = counts[i];
    total += c;
    sum_abs += c * std::abs(n);
    sum_square += c * n * n;
    if (std::abs(n) > kKvtcDirect) {
      escapes += c;
      continue;
    }
    const int s = n + kKvtcDirect;
    folded[static_cast<size_t>(s)] = counts[i];
    low = std::min(low, s);
    high = std::max(high, s);
  }
  if (total == 0) {
    *bits = 0;
    return 0;
  }
  // Maximum-likelihood decay of each family, r = 1 - 2^(-u/4) solved for u:
  // Laplace: E|n| = 2r / (1 - r^2); Gaussian (wide): E n^2 ~ 1 / (2 (1 - r)).
  const double mean_abs = sum_abs / total, mean_square = sum_square / total;
  const double r_laplace = mean_abs <= 0 ? 0 : (std::sqrt(1 + mean_abs * mean_abs) - 1) / mean_abs;
  const double r_gauss = mean_square <= 0 ? 0 : std::max(0.0, 1 - 1 / (2 * mean_square));
  int best = 0;
  double best_bits = table_bits(0, folded.data(), low, high, escapes);
  for (int family = 0; family < 2; ++family) {
    const double r = family == 0 ? r_laplace : r_gauss;
    const double u = r >= 1 ? kScales - 1 : -4 * std::log2(std::max(1e-300, 1 - r));
    const int center = static_cast<int>(std::lround(std::clamp(u, 0.0, kScales - 1.0)));
    for (int k = std::max(0, center - 3); k <= std::min(kScales - 1, center + 3); ++k) {
      const int index = family * kScales + k;
      const double b = table_bits(index, folded.data(), low, high, escapes);
      if (b < best_bits) {
        best_bits = b;
        best = index;
      }
    }
  }
  *bits = best_bits;
  return best;
}

}  // namespace cachegen
