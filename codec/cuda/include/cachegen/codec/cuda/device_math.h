// Arithmetic shared by the GPU kernels and the CPU codec's semantics, written once for both
// compilers: nvcc compiles it into the kernels, g++ into the CPU tests that check it against the
// CPU codec (codec/test/gpu_math_test.cpp). The float formats themselves are core's
// (float_formats.h). Every function here reproduces a CPU codec
// operation bit for bit: IEEE fp32 with no fused multiply-add (nvcc -fmad=false), round to
// nearest even, integer table building.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

#include "cachegen/core/float_formats.h"  // f16 / bf16 conversions and CG_HD, shared with core

namespace cachegen::gpu {

constexpr uint32_t kRansLowBound = 1u << 23;  // = kRansLow of rans_coder.h

// Element types, numbered as core's DType.
enum : int { kGpuF32 = 0, kGpuF16 = 1, kGpuBF16 = 2 };

CG_HD float load_element(const void* base, int64_t index, int dtype) {
  if (dtype == kGpuF32)
    return static_cast<const float*>(base)[index];
  uint16_t bits = static_cast<const uint16_t*>(base)[index];
  return dtype == kGpuF16 ? half_to_float(bits) : bfloat_to_float(bits);
}

// On the device the conversion instructions round the same way (to nearest even, overflow to
// infinity) in one instruction; they differ from float_to_half / float_to_bfloat (float_formats.h)
// only in the NaN bits chosen, and the codecs never store a NaN (inputs and scales are finite).
CG_HD void store_element(void* base, int64_t index, int dtype, float value) {
  if (dtype == kGpuF32) {
    static_cast<float*>(base)[index] = value;
  } else if (dtype == kGpuF16) {
#if defined(__CUDA_ARCH__)
    static_cast<uint16_t*>(base)[index] = __half_as_ushort(__float2half_rn(value));
#else
    static_cast<uint16_t*>(base)[index] = float_to_half(value);
#endif
  } else {
#if defined(__CUDA_ARCH__)
    static_cast<uint16_t*>(base)[index] = __bfloat16_as_ushort(__float2bfloat16_rn(value));
#else
    static_cast<uint16_t*>(base)[index] = float_to_bfloat(value);
#endif
  }
}

CG_HD float round_to_element(float value, int dtype) {
  if (dtype == kGpuF16)
    return half_to_float(float_to_half(value));
  if (dtype == kGpuBF16)
    return bfloat_to_float(float_to_bfloat(value));
  return value;
}

// quantize.h's symmetric absmax quantization: q = clamp(rne(x * M / s) + M, 0, 2M).
CG_HD uint8_t quantize_value(float x, float scale, int max_level) {
  if (scale == 0)
    return static_cast<uint8_t>(max_level);
  const float m = static_cast<float>(max_level);
  const float magic = 12582912.0f;  // 1.5 * 2^23: round half to even
  float level = ((x * m / scale + magic) - magic) + m;
  level = level < 0.0f ? 0.0f : level;
  level = level > 2 * m ? 2 * m : level;
  return static_cast<uint8_t>(level);
}

CG_HD float dequantize_value(int q, int max_level, float scale) {
  return static_cast<float>(q - max_level) / static_cast<float>(max_level) * scale;
}

// FreqTable::from_counts as a CDF: cdf[0] = 0, cdf[alphabet] = 2^precision. counts: `alphabet`
// entries; cdf: alphabet + 1 entries (also the scratch for the frequencies).
CG_HD void build_cdf(const uint32_t* counts, int alphabet, int precision, bool all_symbols,
                     uint32_t* cdf) {
  const uint64_t total_slots = uint64_t{1} << precision;
  const uint32_t add = all_symbols ? 1u : 0u;
  uint64_t total = 0;
  for (int s = 0; s < alphabet; ++s)
    total += counts[s] + add;
  uint32_t* freq = cdf + 1;  // freq[s] lives in cdf[s + 1] until the prefix sum
  if (total == 0) {
    for (int s = 0; s < alphabet; ++s)
      freq[s] = s == 0 ? static_cast<uint32_t>(total_slots) : 0u;
  } else {
    uint64_t sum = 0;
    for (int s = 0; s < alphabet; ++s) {
      uint64_t c = counts[s] + add;
      uint64_t f = c * total_slots / total;
      freq[s] = c > 0 ? static_cast<uint32_t>(f > 1 ? f : 1) : 0u;
      sum += freq[s];
    }
    // The most frequent symbol, lowest index first on ties.
    auto largest = [&]() {
      int best = 0;
      for (int s = 1; s < alphabet; ++s) {
        if (freq[s] > freq[best])
          best = s;
      }
      return best;
    };
    if (sum < total_slots)
      freq[largest()] += static_cast<uint32_t>(total_slots - sum);
    while (sum > total_slots) {
      int s = largest();
      uint64_t take = sum - total_slots;
      if (take > freq[s] - 1u)
        take = freq[s] - 1u;
      freq[s] -= static_cast<uint32_t>(take);
      sum -= take;
    }
  }
  cdf[0] = 0;
  for (int s = 0; s < alphabet; ++s)
    cdf[s + 1] += cdf[s];
}

// The symbol s with cdf[s] <= slot < cdf[s + 1] (the largest s with cdf[s] <= slot: zero-
// frequency symbols share their successor's start and are never the largest). `top` is the
// largest power of two below `alphabet` (0 for an alphabet of 1).
CG_HD int find_symbol(const uint32_t* cdf, int alphabet, int top, uint32_t slot) {
  int s = 0;
  for (int step = top; step > 0; step >>= 1) {
    if (s + step < alphabet && cdf[s + step] <= slot)
      s += step;
  }
  return s;
}

// The compact form of one CDF the kernels keep in shared memory: the entries cdf[s] of the
// symbols up to the last with non-zero frequency, as u16 (each is below 2^precision, so this
// holds at precision 16 too). Returns how many entries (`used`, >= 1).
CG_HD int compact_cdf(const uint32_t* cdf, int alphabet, int precision, uint16_t* out) {
  const uint32_t total = 1u << precision;
  int used = 0;
  for (int s = 0; s < alphabet; ++s) {
    out[s] = static_cast<uint16_t>(cdf[s] < total ? cdf[s] : 0u);
    used += cdf[s] < total ? 1 : 0;
  }
  return used;
}

// find_symbol on the compact form, with the symbol's start and frequency.
CG_HD int find_symbol_compact(const uint16_t* cdf, int used, int top, uint32_t slot, int precision,
                              uint32_t& start, uint32_t& freq) {
  int s = 0;
  for (int step = top; step > 0; step >>= 1) {
    if (s + step < used && cdf[s + step] <= slot)
      s += step;
  }
  start = cdf[s];
  freq = (s + 1 < used ? uint32_t(cdf[s + 1]) : 1u << precision) - start;
  return s;
}

CG_HD void symbol_range_compact(const uint16_t* cdf, int used, int symbol, int precision,
                                uint32_t& start, uint32_t& freq) {
  start = cdf[symbol];
  freq = (symbol + 1 < used ? uint32_t(cdf[symbol + 1]) : 1u << precision) - start;
}

CG_HD int top_step(int alphabet) {
  int top = 0;
  while ((top == 0 ? 1 : top * 2) < alphabet)
    top = top == 0 ? 1 : top * 2;
  return top;
}

// rANS decode step (rans_coder.cpp): the state after decoding a symbol of (start, freq), before
// refilling; then how many bytes (0-2) the refill reads.
CG_HD uint32_t rans_advance(uint32_t x, uint32_t start, uint32_t freq, int precision) {
  const uint32_t mask = (1u << precision) - 1;
  return freq * (x >> precision) + (x & mask) - start;
}

CG_HD int rans_refill_bytes(uint32_t x) {
  return (x < kRansLowBound ? 1 : 0) + (x < (kRansLowBound >> 8) ? 1 : 0);
}

// rANS encode step: bytes (0-2) to emit before coding a symbol of frequency freq from state x,
// and the state after coding it from the renormalised state.
CG_HD int rans_emit_bytes(uint32_t x, uint32_t freq, int precision) {
  const uint32_t x_max = ((kRansLowBound >> precision) << 8) * freq;
  return (x >= x_max ? 1 : 0) + ((x >> 8) >= x_max ? 1 : 0);
}

CG_HD uint32_t rans_put(uint32_t x, uint32_t start, uint32_t freq, int precision) {
  return ((x / freq) << precision) + (x % freq) + start;
}

// Token of row r of a cachegen plane (cachegen_format.h): plane 1 holds the anchors (every
// group-th token), plane 0 the others (or every token when delta is off: group 0).
CG_HD int64_t plane_row_token(int plane, int64_t row, int64_t group) {
  if (group == 0)
    return row;
  if (plane == 1)
    return row * group;
  return row / (group - 1) * group + row % (group - 1) + 1;
}

}  // namespace cachegen::gpu
