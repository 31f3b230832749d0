// Row kernels behind cachegen's encoder: finiteness check with absmax, and symmetric absmax
// quantization (quantize.h's arithmetic). With AVX2 they run 8 floats at a time and give the
// same results as the plain loops in quantize.h, which stay the reference (tested in
// codec/test/coder_test.cpp); without AVX2 they are those loops.
#pragma once

#include <cstdint>

namespace cachegen {

// max |x[i]| over the row; false (and `first_bad` set to the first such index) if any value is
// NaN or infinite.
bool finite_absmax(const float* x, int64_t n, float& max_abs, int64_t& first_bad);

// quantize_symmetric(x, n, scale, max_level, q), bit for bit.
void quantize_row(const float* x, int64_t n, float scale, int max_level, uint8_t* q);

// Selects the plain loops (false) or the fastest the CPU has (true, the default): for tests.
void set_quantize_rows_vectorized(bool vectorized);

}  // namespace cachegen
