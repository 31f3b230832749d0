// AVX-512 rANS encoder: 16 lanes per vector, the same bytes as the scalar loop in rans_coder.cpp
// (tested in codec/test/coder_test.cpp). rANS encodes C(x) = (x / freq) * 2^precision +
// x % freq + start; the scalar loop divides with ryg_rans's exact reciprocals, this kernel with
// an exact double-precision division (x < 2^31 and freq <= 2^16, so the rounded quotient can
// never reach the next integer). Per step of 16 columns, going backwards through the block:
//   entry = start | (freq - 1) << 16 (one gather); renormalise: lane i emits n_i =
//   (x >= x_max) + (x >> 8 >= x_max) bytes, x_max = freq << (31 - precision); the step's bytes
//   are the lanes' bytes in lane order (high byte first), packed by a byte compress (VBMI2) and
//   stored just below the bytes already written.
#include <algorithm>
#include <vector>

#include "rans_kernels.h"
#include "x86_intrinsics.h"

namespace cachegen {

#if defined(__x86_64__)
namespace {
#define CACHEGEN_AVX512_ENCODE \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi2")))

CACHEGEN_AVX512_ENCODE void encode_rows(const uint8_t* symbols, int64_t rows, int64_t columns,
                                        int64_t stride, int lanes, const uint32_t* entries,
                                        int width, int precision, uint32_t* state, uint8_t*& out) {
  constexpr int kMaxVectors = 16;
  const __m512i lane_index =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i low16 = _mm512_set1_epi32(0xffff);
  const __m512i low8 = _mm512_set1_epi32(0xff);
  const __m128i max_shift = _mm_cvtsi32_si128(31 - precision);
  const __m512i total_slots = _mm512_set1_epi32(1 << precision);
  // Byte flags in each lane's dword: byte 1 (the low byte of x) goes out when n >= 1, byte 0
  // (x's second byte) when n == 2, so the packed bytes come out high byte first.
  const __m512i first_byte = _mm512_set1_epi32(0x0000ff00), second_byte = _mm512_set1_epi32(0xff);
  __m512i x[kMaxVectors];
  const int vectors = lanes / 16;
  for (int v = 0; v < vectors; ++v)
    x[v] = _mm512_loadu_si512(state + 16 * v);
  uint8_t* ptr = out;
  for (int64_t r = rows - 1; r >= 0; --r) {
    const uint8_t* row = symbols + r * stride;
    for (int64_t k = columns - 16; k >= 0; k -= 16) {
      const int v = static_cast<int>((k % lanes) / 16);
      const __m512i sym =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k)));
      const __m512i index = _mm512_add_epi32(
          _mm512_mullo_epi32(_mm512_add_epi32(lane_index, _mm512_set1_epi32(static_cast<int>(k))),
                             _mm512_set1_epi32(width)),
          sym);
      const __m512i entry = _mm512_i32gather_epi32(index, entries, 4);
      const __m512i freq = _mm512_add_epi32(_mm512_srli_epi32(entry, 16), one);
      const __m512i start = _mm512_and_si512(entry, low16);
      const __m512i x_max = _mm512_sll_epi32(freq, max_shift);
      __m512i s = x[v];
      const __mmask16 emit_one = _mm512_cmpge_epu32_mask(s, x_max);
      const __mmask16 emit_two = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(s, 8), x_max);
      const __m512i bytes = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(s, 8), low8),
                                            _mm512_slli_epi32(_mm512_and_si512(s, low8), 8));
      const __m512i flags = _mm512_or_si512(_mm512_maskz_mov_epi32(emit_one, first_byte),
                                            _mm512_maskz_mov_epi32(emit_two, second_byte));
      const __mmask64 keep = _mm512_test_epi8_mask(flags, flags);
      const int total = static_cast<int>(__builtin_popcountll(keep));
      ptr -= total;
      _mm512_mask_storeu_epi8(ptr, (__mmask64{1} << total) - 1,
                              _mm512_maskz_compress_epi8(keep, bytes));
      const __m512i shift =
          _mm512_add_epi32(_mm512_maskz_mov_epi32(emit_one, _mm512_set1_epi32(8)),
                           _mm512_maskz_mov_epi32(emit_two, _mm512_set1_epi32(8)));
      s = _mm512_srlv_epi32(s, shift);
      // q = x / freq: exact in double for x < 2^31, freq <= 2^16.
      const __m512d q_low = _mm512_div_pd(_mm512_cvtepu32_pd(_mm512_castsi512_si256(s)),
                                          _mm512_cvtepu32_pd(_mm512_castsi512_si256(freq)));
      const __m512d q_high = _mm512_div_pd(_mm512_cvtepu32_pd(_mm512_extracti64x4_epi64(s, 1)),
                                           _mm512_cvtepu32_pd(_mm512_extracti64x4_epi64(freq, 1)));
      const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvttpd_epu32(q_low)),
                                           _mm512_cvttpd_epu32(q_high), 1);
      // C(x) = x + start + q * (2^precision - freq) = q * 2^precision + x % freq + start
      x[v] = _mm512_add_epi32(_mm512_add_epi32(s, start),
                              _mm512_mullo_epi32(q, _mm512_sub_epi32(total_slots, freq)));
    }
  }
  for (int v = 0; v < vectors; ++v)
    _mm512_storeu_si512(state + 16 * v, x[v]);
  out = ptr;
}
}  // namespace

bool rans_encode_avx512(const uint8_t* symbols, int64_t rows, int64_t columns, int64_t stride,
                        int lanes, const FreqTable* const* tables, uint32_t* state, uint8_t*& out) {
  if (lanes % 16 != 0 || lanes > 256 || columns % 16 != 0)
    return false;
  const int precision = tables[0]->precision();
  int width = 1;
  for (int64_t k = 0; k < columns; ++k)
    width = std::max(width, tables[k]->alphabet());
  // entries[k * width + s] = start | (freq - 1) << 16 (a zero frequency is never coded).
  std::vector<uint32_t> entries(static_cast<size_t>(columns * width), 0);
  for (int64_t k = 0; k < columns; ++k) {
    const FreqTable& table = *tables[k];
    for (int s = 0; s < table.alphabet(); ++s) {
      const uint32_t freq = table.freq(s);
      entries[static_cast<size_t>(k * width + s)] = table.start(s) | (freq == 0 ? 0 : freq - 1)
                                                                         << 16;
    }
  }
  encode_rows(symbols, rows, columns, stride, lanes, entries.data(), width, precision, state, out);
  return true;
}

#else  // not x86-64: only the scalar encoder exists

bool rans_encode_avx512(const uint8_t*, int64_t, int64_t, int64_t, int, const FreqTable* const*,
                        uint32_t*, uint8_t*&) {
  return false;
}

#endif

}  // namespace cachegen
