// Symmetric absmax quantization shared by the `quant` and `cachegen` codecs, with the reference's
// arithmetic: for `bins` B the largest level is M = B/2 - 1, q = round_half_even(x * M / s) + M
// in fp32, clamped to [0, 2M]; x_hat = (q - M) / M * s. A zero scale (an all-zero vector, where
// the reference divides by zero) quantizes everything to M, which decodes to exactly 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cachegen {

// Round half to even for |v| < 2^22 without calling libm (vectorizes; exact in IEEE fp32).
inline float round_half_even(float v) {
  const float magic = 12582912.0f;  // 1.5 * 2^23
  return (v + magic) - magic;
}

inline float absmax(const float* x, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i)
    m = std::max(m, std::fabs(x[i]));
  return m;
}

inline void quantize_symmetric(const float* x, int64_t n, float scale, int max_level, uint8_t* q) {
  if (scale == 0) {
    std::fill(q, q + n, static_cast<uint8_t>(max_level));
    return;
  }
  const auto m = static_cast<float>(max_level);
  for (int64_t i = 0; i < n; ++i) {
    float level = round_half_even(x[i] * m / scale) + m;
    level = std::min(std::max(level, 0.0f), 2 * m);
    q[i] = static_cast<uint8_t>(level);
  }
}

inline float dequantize_symmetric(int q, int max_level, float scale) {
  return static_cast<float>(q - max_level) / static_cast<float>(max_level) * scale;
}

}  // namespace cachegen
