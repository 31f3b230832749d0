#include "kvtc_synthesis.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cachegen/core/cpu_level.h"
#include "cachegen/core/error.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CACHEGEN_HAVE_VECTOR_SYNTHESIS 1
#endif

namespace cachegen {

namespace {

void synthesize_scalar(const int8_t* n, int64_t n_stride, int64_t rows, int64_t k,
                       const float* basis, int64_t d, const float* offset, float* out) {
  for (int64_t t = 0; t < rows; ++t) {
    for (int64_t j = 0; j < d; ++j) {
      float sum = 0.0f;
      for (int64_t i = 0; i < k; ++i)
        sum = std::fma(static_cast<float>(n[t * n_stride + i]), basis[i * d + j], sum);
      out[t * d + j] = sum + offset[j];
    }
  }
}

// A block of up to kBlockRows consecutive rows, their coefficients as floats [rows, k], and
// `terms`: one past the last component at which any of them is non-zero (components past it
// add nothing). Within that range zeros are multiplied like any value (fma(0, b, s) = s: they
// cost time, not bits): one pass over a component's basis row then serves all rows of the
// block, which keeps the loop on the FMA units rather than on the cache.
constexpr int kBlockRows = 8;
struct Block {
  explicit Block(int64_t k_) : k(k_), value(static_cast<size_t>(k_) * kBlockRows) {}
  void gather(const int8_t* n, int64_t n_stride, int block_rows) {
    rows = block_rows;
    terms = 0;
    for (int r = 0; r < rows; ++r) {
      const int8_t* in = n + r * n_stride;
      float* out = value.data() + r * k;
      for (int64_t i = 0; i < k; ++i)
        out[i] = static_cast<float>(in[i]);
      int64_t last = k;
      while (last > terms && in[last - 1] == 0)
        --last;
      terms = std::max(terms, last);
    }
  }
  const float* row(int r) const { return value.data() + r * k; }
  int64_t k;
  std::vector<float> value;  // [kBlockRows, k]
  int rows = 0;
  int64_t terms = 0;
};

// Columns [j, d) of a block's rows, the scalar way (what the vector tiles leave over).
void block_tail(const Block& block, const float* basis, int64_t d, const float* offset, float* out,
                int64_t j) {
  for (int r = 0; r < block.rows; ++r) {
    const float* value = block.row(r);
    for (int64_t c = j; c < d; ++c) {
      float sum = 0.0f;
      for (int64_t i = 0; i < block.terms; ++i)
        sum = std::fma(value[i], basis[i * d + c], sum);
      out[r * d + c] = sum + offset[c];
    }
  }
}

#ifdef CACHEGEN_HAVE_VECTOR_SYNTHESIS
// Rows x (Vectors x 8) outputs of rows [first, first + Rows) starting at column j: one
// accumulator register each.
template <int Rows, int Vectors>
__attribute__((target("avx2,fma"))) inline void tile_avx2(const Block& block, int first,
                                                          const float* basis, int64_t d,
                                                          const float* offset, float* out,
                                                          int64_t j) {
  __m256 sum[Rows][Vectors];
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < Vectors; ++v)
      sum[r][v] = _mm256_setzero_ps();
  }
  const float* value = block.row(first);
  for (int64_t i = 0; i < block.terms; ++i) {
    __m256 basis_part[Vectors];
    for (int v = 0; v < Vectors; ++v)
      basis_part[v] = _mm256_loadu_ps(basis + i * d + j + 8 * v);
    for (int r = 0; r < Rows; ++r) {
      const __m256 coefficient = _mm256_broadcast_ss(value + r * block.k + i);
      for (int v = 0; v < Vectors; ++v)
        sum[r][v] = _mm256_fmadd_ps(coefficient, basis_part[v], sum[r][v]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < Vectors; ++v) {
      _mm256_storeu_ps(out + (first + r) * d + j + 8 * v,
                       _mm256_add_ps(sum[r][v], _mm256_loadu_ps(offset + j + 8 * v)));
    }
  }
}

// 16 registers: 4 rows x 3 vectors of accumulators at a time.
__attribute__((target("avx2,fma"))) void block_avx2(const Block& block, const float* basis,
                                                    int64_t d, const float* offset, float* out) {
  int64_t j = 0;
  int first = 0;
  for (; first + 4 <= block.rows; first += 4) {
    for (j = 0; j + 24 <= d; j += 24)
      tile_avx2<4, 3>(block, first, basis, d, offset, out, j);
    for (; j + 8 <= d; j += 8)
      tile_avx2<4, 1>(block, first, basis, d, offset, out, j);
  }
  for (; first < block.rows; ++first) {
    for (j = 0; j + 24 <= d; j += 24)
      tile_avx2<1, 3>(block, first, basis, d, offset, out, j);
    for (; j + 8 <= d; j += 8)
      tile_avx2<1, 1>(block, first, basis, d, offset, out, j);
  }
  block_tail(block, basis, d, offset, out, j);
}

// The same with 16 columns per register; 32 registers: 8 rows x 3 vectors of accumulators.
template <int Rows, int Vectors>
__attribute__((target("avx512f"))) inline void tile_avx512(const Block& block, int first,
                                                           const float* basis, int64_t d,
                                                           const float* offset, float* out,
                                                           int64_t j) {
  __m512 sum[Rows][Vectors];
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < Vectors; ++v)
      sum[r][v] = _mm512_setzero_ps();
  }
  const float* value = block.row(first);
  for (int64_t i = 0; i < block.terms; ++i) {
    __m512 basis_part[Vectors];
    for (int v = 0; v < Vectors; ++v)
      basis_part[v] = _mm512_loadu_ps(basis + i * d + j + 16 * v);
    for (int r = 0; r < Rows; ++r) {
      const __m512 coefficient = _mm512_set1_ps(value[r * block.k + i]);
      for (int v = 0; v < Vectors; ++v)
        sum[r][v] = _mm512_fmadd_ps(coefficient, basis_part[v], sum[r][v]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int v = 0; v < Vectors; ++v) {
      _mm512_storeu_ps(out + (first + r) * d + j + 16 * v,
                       _mm512_add_ps(sum[r][v], _mm512_loadu_ps(offset + j + 16 * v)));
    }
  }
}

__attribute__((target("avx512f"))) void block_avx512(const Block& block, const float* basis,
                                                     int64_t d, const float* offset, float* out) {
  int64_t j = 0;
  if (block.rows == kBlockRows) {
    for (; j + 48 <= d; j += 48)
      tile_avx512<kBlockRows, 3>(block, 0, basis, d, offset, out, j);
    for (; j + 16 <= d; j += 16)
      tile_avx512<kBlockRows, 1>(block, 0, basis, d, offset, out, j);
  } else {
    for (int first = 0; first < block.rows; ++first) {
      for (j = 0; j + 48 <= d; j += 48)
        tile_avx512<1, 3>(block, first, basis, d, offset, out, j);
      for (; j + 16 <= d; j += 16)
        tile_avx512<1, 1>(block, first, basis, d, offset, out, j);
    }
  }
  block_tail(block, basis, d, offset, out, j);
}
#endif

// Runs `kernel` over blocks of kBlockRows rows (the last one may be shorter).
void synthesize_blocks(void (*kernel)(const Block&, const float*, int64_t, const float*, float*),
                       const int8_t* n, int64_t n_stride, int64_t rows, int64_t k,
                       const float* basis, int64_t d, const float* offset, float* out) {
  Block block(k);
  for (int64_t t = 0; t < rows; t += kBlockRows) {
    block.gather(n + t * n_stride, n_stride,
                 static_cast<int>(std::min<int64_t>(kBlockRows, rows - t)));
    kernel(block, basis, d, offset, out + t * d);
  }
}

}  // namespace

bool synthesis_kernel_supported(SynthesisKernel kernel) {
#ifdef CACHEGEN_HAVE_VECTOR_SYNTHESIS
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (kernel == SynthesisKernel::kAvx2)
    return avx2;
  if (kernel == SynthesisKernel::kAvx512)
    return avx512;
  return true;
#else
  return kernel == SynthesisKernel::kAuto || kernel == SynthesisKernel::kScalar;
#endif
}

void kvtc_synthesize(const int8_t* n, int64_t n_stride, int64_t rows, int64_t k, const float* basis,
                     int64_t d, const float* offset, float* out, SynthesisKernel kernel) {
  if (kernel == SynthesisKernel::kAuto) {
    kernel =
        synthesis_kernel_supported(SynthesisKernel::kAvx512) && cpu_level_allowed(CpuLevel::kAvx512)
            ? SynthesisKernel::kAvx512
        : synthesis_kernel_supported(SynthesisKernel::kAvx2) && cpu_level_allowed(CpuLevel::kAvx2)
            ? SynthesisKernel::kAvx2
            : SynthesisKernel::kScalar;
  }
  if (!synthesis_kernel_supported(kernel))
    fail("kvtc_synthesize: this CPU lacks the instructions of the requested kernel");
#ifdef CACHEGEN_HAVE_VECTOR_SYNTHESIS
  if (kernel == SynthesisKernel::kAvx512)
    return synthesize_blocks(block_avx512, n, n_stride, rows, k, basis, d, offset, out);
  if (kernel == SynthesisKernel::kAvx2)
    return synthesize_blocks(block_avx2, n, n_stride, rows, k, basis, d, offset, out);
#endif
  synthesize_scalar(n, n_stride, rows, k, basis, d, offset, out);
}

}  // namespace cachegen
