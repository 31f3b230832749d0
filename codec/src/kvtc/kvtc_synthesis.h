// kvtc's inverse transform: features from quantized coefficients, x = n B' + offset, where B'
// holds the coded basis rows already multiplied by their quantization steps. At kvtc's budgets
// many coefficients are zero, so the fast loops add only the non-zero terms. Every kernel does
// the same arithmetic in the same order (a fused multiply-add per term, components ascending,
// from +0; then the offset), so all give the same bits; skipping a zero term changes nothing
// (fma(0, b, s) = s + (+-0) = s, and a sum that starts at +0 stays +0 under zero terms).
#pragma once

#include <cstdint>

namespace cachegen {

// kScalar: the dense reference (every term, zeros included); kAvx2 (8-wide, with FMA) and
// kAvx512 (16-wide): zeros skipped; kAuto: the widest one the CPU has.
enum class SynthesisKernel { kAuto, kScalar, kAvx2, kAvx512 };
bool synthesis_kernel_supported(SynthesisKernel kernel);

// For each row t < rows and column j < d:
//   out[t, j] = (sum over i < k, ascending, of float(n[t * n_stride + i]) * basis[i * d + j])
//               + offset[j],
// each term fused into the running sum (std::fma). n: int8 coefficients [rows, n_stride]
// (first k columns used); basis: [k, d] floats; offset: [d]; out: [rows, d] floats.
void kvtc_synthesize(const int8_t* n, int64_t n_stride, int64_t rows, int64_t k, const float* basis,
                     int64_t d, const float* offset, float* out,
                     SynthesisKernel kernel = SynthesisKernel::kAuto);

}  // namespace cachegen
