#include "cachegen/codec/freq_table.h"

#include <algorithm>
#include <cmath>

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
  std::vector<uint64_t> c(static_cast<size_t>(alphabet));
  uint64_t total = 0;
  for (int s = 0; s < alphabet; ++s) {
    c[static_cast<size_t>(s)] = counts[s] + (all_symbols ? 1u : 0u);
    total += c[static_cast<size_t>(s)];
  }
  std::vector<uint64_t> freq(static_cast<size_t>(alphabet), 0);
  if (total == 0) {
    freq[0] = total_slots;
  } else {
    uint64_t sum = 0;
    for (size_t s = 0; s < freq.size(); ++s) {
      if (c[s] > 0)
        freq[s] = std::max<uint64_t>(1, c[s] * total_slots / total);
      sum += freq[s];
    }
    // Hand the rounding remainder to (or take the excess from) the most frequent symbols,
    // lowest index first on ties: integer-only, so every platform builds the same table.
    auto largest = [&] {
      return static_cast<size_t>(std::max_element(freq.begin(), freq.end()) - freq.begin());
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
  for (size_t s = 0; s < freq.size(); ++s) {
    table.cdf_[s + 1] = table.cdf_[s] + static_cast<uint32_t>(freq[s]);
  }
  int bucket_bits = std::min(kBucketBits, precision);
  table.bucket_shift_ = precision - bucket_bits;
  table.bucket_.resize(size_t{1} << bucket_bits);
  int s = 0;
  for (size_t b = 0; b < table.bucket_.size(); ++b) {
    auto first_slot = static_cast<uint32_t>(b << table.bucket_shift_);
    while (table.cdf_[static_cast<size_t>(s) + 1] <= first_slot)
      ++s;
    table.bucket_[b] = static_cast<uint8_t>(s);
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
