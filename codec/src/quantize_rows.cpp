#include "quantize_rows.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "cachegen/codec/quantize.h"
#include "cachegen/core/cpu_level.h"
#include "x86_intrinsics.h"

namespace cachegen {

namespace {
std::atomic<bool> use_vector{true};

bool finite_absmax_plain(const float* x, int64_t n, float& max_abs, int64_t& first_bad) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      first_bad = i;
      return false;
    }
  }
  max_abs = absmax(x, n);
  return true;
}

#if defined(__x86_64__)
bool has_avx2() {
  static const bool supported =
      __builtin_cpu_supports("avx2") && cpu_level_allowed(CpuLevel::kAvx2);
  return supported;
}

__attribute__((target("avx2"))) bool finite_absmax_avx2(const float* x, int64_t n, float& max_abs,
                                                        int64_t& first_bad) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 infinity = _mm256_set1_ps(INFINITY);
  __m256 m = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + i), magnitude);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, infinity, _CMP_NLT_UQ));  // >= inf, or NaN
    m = _mm256_max_ps(m, a);
  }
  if (_mm256_movemask_ps(bad) != 0)
    return finite_absmax_plain(x, n, max_abs, first_bad);  // finds the first bad index
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float result = 0;
  for (float v : lanes)
    result = std::max(result, v);
  for (; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      first_bad = i;
      return false;
    }
    result = std::max(result, std::fabs(x[i]));
  }
  max_abs = result;
  return true;
}

// The same IEEE operations in the same order as quantize_symmetric: (x * M) / s, round half to
// even by the 1.5 * 2^23 trick, + M, clamped to [0, 2M], truncated to an integer.
__attribute__((target("avx2"))) void quantize_row_avx2(const float* x, int64_t n, float scale,
                                                       int max_level, uint8_t* q) {
  const auto m = static_cast<float>(max_level);
  const __m256 m_v = _mm256_set1_ps(m), scale_v = _mm256_set1_ps(scale),
               magic = _mm256_set1_ps(12582912.0f), zero = _mm256_setzero_ps(),
               top = _mm256_set1_ps(2 * m);
  const __m256i bytes =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 level = _mm256_div_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), m_v), scale_v);
    level = _mm256_add_ps(_mm256_sub_ps(_mm256_add_ps(level, magic), magic), m_v);
    level = _mm256_min_ps(_mm256_max_ps(level, zero), top);
    const __m256i packed = _mm256_shuffle_epi8(_mm256_cvttps_epi32(level), bytes);
    const uint32_t low = static_cast<uint32_t>(_mm256_extract_epi32(packed, 0));
    const uint32_t high = static_cast<uint32_t>(_mm256_extract_epi32(packed, 4));
    const uint64_t eight = low | static_cast<uint64_t>(high) << 32;
    std::memcpy(q + i, &eight, 8);
  }
  quantize_symmetric(x + i, n - i, scale, max_level, q + i);
}
#endif
}  // namespace

void set_quantize_rows_vectorized(bool vectorized) {
  use_vector = vectorized;
}

bool finite_absmax(const float* x, int64_t n, float& max_abs, int64_t& first_bad) {
#if defined(__x86_64__)
  if (use_vector && has_avx2())
    return finite_absmax_avx2(x, n, max_abs, first_bad);
#endif
  return finite_absmax_plain(x, n, max_abs, first_bad);
}

void quantize_row(const float* x, int64_t n, float scale, int max_level, uint8_t* q) {
#if defined(__x86_64__)
  if (use_vector && has_avx2() && scale != 0)
    return quantize_row_avx2(x, n, scale, max_level, q);
#endif
  quantize_symmetric(x, n, scale, max_level, q);
}

}  // namespace cachegen
