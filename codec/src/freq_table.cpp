#include "cachegen/codec/freq_table.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cachegen/core/error.h"

namespace cachegen {

FreqTable FreqTable::from_counts(const uint32_t* counts, int alphabet, int precision,
                                 bool all_symbols) {
  if (precision < kMinPrecision || precision > kMaxPrecision) {
    fail("probability precision ", precision, " bits is outside [", kMinPrecision, ", ",
         kMaxPrecision, "]");
  }
  if (alphabet < 1 || alphabet > kMaxAlphabet || alphabet > (1 << precision)) {
    fail("alphabet of ", alphabet, " symbols does not fit ", precision, "-bit probabilities");
  }
  const uint64_t total_slots = uint64_t{1} << precision;
  uint64_t total = 0;
  for (int s = 0; s < alphabet; ++s)
    total += counts[s] + (all_symbols ? 1u : 0u);
  std::array<uint64_t, kMaxAlphabet> freq{};  // [alphabet]
  if (total == 0) {
    freq[0] = total_slots;
  } else {
    uint64_t sum = 0;
    // count * 2^precision / total; in 32 bits when that cannot overflow (the same quotient,
    // several times faster than a 64-bit division).
    const bool narrow = total <= (uint64_t{UINT32_MAX} >> precision);
    for (int s = 0; s < alphabet; ++s) {
      const uint64_t c = counts[s] + (all_symbols ? 1u : 0u);
      if (c > 0) {
        const uint64_t share =
            narrow ? static_cast<uint32_t>(c << precision) / static_cast<uint32_t>(total)
                   : c * total_slots / total;
        freq[static_cast<size_t>(s)] = std::max<uint64_t>(1, share);
      }
      sum += freq[static_cast<size_t>(s)];
    }
    // Hand the rounding remainder to (or take the excess from) the most frequent symbols,
    // lowest index first on ties: integer-only, so every platform builds the same table.
    auto largest = [&] {
      return static_cast<size_t>(std::max_element(freq.begin(), freq.begin() + alphabet) -
                                 freq.begin());
    };
    if (sum < total_slots) {
      freq[largest()] += total_slots - sum;
    }
    while (sum > total_slots) {
      size_t s = largest();
      uint64_t take = std::min(sum - total_slots, freq[s] - 1);
      freq[s] -= take;
      sum -= take;
    }
  }
  FreqTable table;
  table.precision_ = precision;
  table.cdf_.resize(static_cast<size_t>(alphabet) + 1);
  table.cdf_[0] = 0;
  for (size_t s = 0; s < static_cast<size_t>(alphabet); ++s) {
    table.cdf_[s + 1] = table.cdf_[s] + static_cast<uint32_t>(freq[s]);
  }
  int bucket_bits = std::min(kBucketBits, precision);
  table.bucket_shift_ = precision - bucket_bits;
  table.bucket_.resize(size_t{1} << bucket_bits);
  // Bucket b starts at slot b << shift, which lies in exactly one symbol's range [cdf[s],
  // cdf[s + 1]): that symbol's buckets are those from ceil(cdf[s] / 2^shift) to
  // ceil(cdf[s + 1] / 2^shift) (none for a zero frequency).
  const uint32_t round_up = (1u << table.bucket_shift_) - 1;
  for (int s = 0; s < alphabet; ++s) {
    const uint32_t first = (table.cdf_[static_cast<size_t>(s)] + round_up) >> table.bucket_shift_;
    const uint32_t end = (table.cdf_[static_cast<size_t>(s) + 1] + round_up) >> table.bucket_shift_;
    if (end > first)
      std::memset(table.bucket_.data() + first, s, end - first);
  }
  return table;
}

int FreqTable::find_reference(uint32_t slot) const {
  // Largest s with cdf[s] <= slot, skipping zero-frequency symbols.
  auto it = std::upper_bound(cdf_.begin(), cdf_.end(), slot);
  return static_cast<int>(it - cdf_.begin()) - 1;
}

double FreqTable::model_bits(const uint32_t* counts) const {
  double bits = 0;
  for (int s = 0; s < alphabet(); ++s) {
    if (counts[s] == 0)
      continue;
    if (freq(s) == 0)
      return INFINITY;
    bits += counts[s] * (precision_ - std::log2(static_cast<double>(freq(s))));
  }
  return bits;
}

double empirical_bits(const uint32_t* counts, int alphabet) {
  double total = 0;
  for (int s = 0; s < alphabet; ++s)
    total += counts[s];
  double bits = 0;
  for (int s = 0; s < alphabet; ++s) {
    if (counts[s] > 0)
      bits -= counts[s] * std::log2(counts[s] / total);
  }
  return bits;
}

}  // namespace cachegen
