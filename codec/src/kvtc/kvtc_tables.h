// The kvtc codec's probability tables: a fixed family, so that chunks carry one byte per
// component instead of a histogram. A quantized coefficient n in [-127, 127] is coded as symbol
// n + 15 when |n| <= 15, else as the escape symbol 31 followed by n itself as a raw byte (in a
// separate section): 32 symbols keep the vector rANS kernels usable (rans_kernels.h).
// Table index f * 64 + u:
//   f = 0: two-sided geometric (discrete Laplace), p(n) ~ r^|n|,
//   f = 1: discrete Gaussian,                      p(n) ~ r^(n^2),
// with r = 1 - 2^(-u/4) (u = 0: every coefficient is zero); the escape gets the mass of
// 16 <= |n| <= 127. Weights are computed with IEEE multiplications and square roots only (no exp
// or log from libm), so that every machine derives bit-identical tables; each is scaled to 2^22
// and given to FreqTable with all symbols possible.
#pragma once

#include <cstdint>

#include "cachegen/codec/freq_table.h"

namespace cachegen {

constexpr int kKvtcLimit = 127;    // |n| <= 127
constexpr int kKvtcDirect = 15;    // |n| <= 15 coded directly
constexpr int kKvtcAlphabet = 32;  // 31 direct symbols and the escape
constexpr int kKvtcEscape = 31;
constexpr int kKvtcHistogram = 2 * kKvtcLimit + 1;  // histograms over n + 127
constexpr int kKvtcTableCount = 128;
constexpr int kKvtcPrecision = 16;
constexpr int kKvtcEscapeBits = 8;  // the raw byte after an escape

const FreqTable& kvtc_table(int index);
// -log2 p(symbol) under table `index` (what rANS spends on it, flush bytes aside): [32].
const float* kvtc_table_cost(int index);

// The table that codes a histogram of n (counts[255], index n + 127) in the fewest bits,
// escapes' raw bytes included: searched around the maximum-likelihood fit of each family.
// Returns its index; *bits gets the code length.
int kvtc_best_table(const uint32_t* counts, double* bits);

}  // namespace cachegen
