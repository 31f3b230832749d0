// Static symbol distributions for the entropy coders: an integer CDF at `precision` bits
// (cdf[0] = 0, cdf[alphabet] = 2^precision), built deterministically from symbol counts so that
// encoder, decoder and the GPU derive the very same table from the same counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cachegen {

constexpr int kMinPrecision = 8;
constexpr int kMaxPrecision = 16;
constexpr int kMaxAlphabet = 256;

class FreqTable {
 public:
  FreqTable() = default;
  // counts: `alphabet` entries. Symbols with a zero count get zero frequency unless
  // `all_symbols` (then every count is incremented by one first: for tables that must code
  // symbols they were not built from). A table built from all-zero counts codes symbol 0 only.
  static FreqTable from_counts(const uint32_t* counts, int alphabet, int precision,
                               bool all_symbols);

  int alphabet() const { return static_cast<int>(cdf_.size()) - 1; }
  int precision() const { return precision_; }
  uint32_t start(int symbol) const { return cdf_[static_cast<size_t>(symbol)]; }
  uint32_t freq(int symbol) const {
    return cdf_[static_cast<size_t>(symbol) + 1] - cdf_[static_cast<size_t>(symbol)];
  }
  const std::vector<uint32_t>& cdf() const { return cdf_; }

  // The symbol s with cdf[s] <= slot < cdf[s + 1]; slot must be < 2^precision.
  int find(uint32_t slot) const {
    int s = bucket_[slot >> bucket_shift_];
    while (cdf_[static_cast<size_t>(s) + 1] <= slot)
      ++s;
    return s;
  }
  // bucket()[b]: the first symbol whose range reaches slot b << (precision - 8) (256 entries):
  // where find() starts, and what the vector decoder's bucket tables hold.
  const std::vector<uint8_t>& buckets() const { return bucket_; }
  // Reference lookup (binary search), for tests.
  int find_reference(uint32_t slot) const;

  // Sum over symbols of counts[s] * -log2(freq[s] / 2^precision): the ideal code length of
  // data with these counts under this table. Infinite if a counted symbol has zero frequency.
  double model_bits(const uint32_t* counts) const;

 private:
  static constexpr int kBucketBits = 8;
  int precision_ = 0;
  int bucket_shift_ = 0;
  std::vector<uint32_t> cdf_;
  std::vector<uint8_t> bucket_;  // first symbol whose range reaches each 2^shift-wide bucket
};

// Empirical entropy in bits of data with these counts: sum counts[s] * -log2(counts[s]/total).
double empirical_bits(const uint32_t* counts, int alphabet);

}  // namespace cachegen
