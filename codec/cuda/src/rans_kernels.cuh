// The cachegen codec's device kernels (private): table building, quantization, symbol counting,
// and warp-per-stream rANS encode and decode with dequantization fused into the decode.
//
// rANS on a warp (rans_coder.h's format): a stream's `lanes` states advance in lock-step, 32
// lanes per step (a group of `lanes` columns takes ceil(lanes / 32) steps). Each lane decodes its
// symbol, then needs 0-2 refill bytes; an exclusive prefix sum of those counts over the warp (two
// ballots) places every lane's bytes in the shared byte stream, which is exactly the order the
// CPU's scalar loop reads them. Encode runs the same schedule backwards, writing from the end of a
// per-stream scratch region; a scan and a copy compact the streams into the payload.
#pragma once

#include <cstdint>

#include "cachegen/codec/cuda/device_math.h"
#include "gpu_runtime.h"

namespace cachegen::gpu {

constexpr unsigned kFullMask = 0xffffffffu;

// One chunk of a batch.
struct ChunkInfo {
  void* kv;  // [L, 2, T, C] of dtype
  int dtype;
  int64_t tokens, channels;
  int64_t delta_group;  // 0: delta off
};

// One entropy-coded stream (a block of channels of one (plane, layer, kind) of one chunk).
struct StreamInfo {
  uint64_t bytes_offset;    // decode: into the staged payload; encode: into the scratch regions
  uint64_t capacity;        // encode: bytes reserved for the stream (written from the end)
  uint64_t symbols_offset;  // encode: first symbol, [plane_row][C] with row stride C
  uint64_t cdf_offset;      // the stream's first table in the cdf array; columns x (alphabet + 1)
  uint64_t out_offset;      // element of (layer, kind, token 0, first channel) in the chunk's KV
  uint64_t scale_offset;    // scale of (layer, kind, token 0)
  uint64_t row_stride;      // encode: symbols between rows (the chunk's channels)
  uint32_t size;            // decode: stream bytes
  uint32_t rows, columns, lanes;
  int32_t alphabet, max_level, plane;
  uint32_t chunk;
};

// cdf[table] = build_cdf(counts[table]), table by table.
__global__ void build_tables_kernel(const uint32_t* counts, const uint64_t* count_offsets,
                                    const uint8_t* all_symbols, int64_t tables, int precision,
                                    uint32_t* cdf) {
  int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= tables)
    return;
  uint64_t begin = count_offsets[i];
  int alphabet = static_cast<int>(count_offsets[i + 1] - begin);
  build_cdf(counts + begin, alphabet, precision, all_symbols[i] != 0, cdf + begin + i);
}

// A stream's tables as the kernels read them. In shared memory (when they fit): per column the
// CDF entries of the symbols that can occur, as u16 (an entry below 2^precision fits even at
// precision 16), and how many those are (`used`: symbols after the last non-zero frequency are
// left out, so no stored entry is 2^16); else the u32 CDFs in global memory. Plus the
// dequantization factors (q - M) / M of every symbol, computed as the CPU does.
struct StreamTables {
  const uint16_t* cdf16;  // [columns][alphabet] (shared)
  const uint8_t* used;    // [columns] (shared)
  const uint32_t* cdf32;  // [columns][alphabet + 1] (global)
  const float* factors;   // [alphabet] (shared)
};

// Shared memory of one stream's block: factors, then (with tables) `used` and the u16 CDFs.
// Kept small: blocks are one warp, and how many fit on a multiprocessor bounds the streams in
// flight (a Mistral-7B 8K context decodes 3072 streams: 24 per multiprocessor on 132).
__host__ __device__ inline size_t factors_bytes(int alphabet) {
  return (size_t(alphabet) * 4 + 15) / 16 * 16;
}
__host__ __device__ inline size_t used_bytes(uint32_t columns) {
  return (size_t(columns) + 15) / 16 * 16;
}
__host__ __device__ inline size_t stream_shared_bytes(uint32_t columns, int alphabet, bool tables) {
  size_t bytes = factors_bytes(alphabet);
  if (tables)
    bytes += used_bytes(columns) + size_t(columns) * size_t(alphabet) * 2;
  return bytes;
}

template <bool kShared>
__device__ StreamTables load_stream_tables(const StreamInfo& s, const uint32_t* cdf, int precision,
                                           uint8_t* shared) {
  StreamTables t{};
  float* factors = reinterpret_cast<float*>(shared);
  for (int q = threadIdx.x; q < s.alphabet; q += 32)
    factors[q] = s.max_level > 0 ? float(q - s.max_level) / float(s.max_level) : 0.0f;
  t.factors = factors;
  const uint32_t* tables = cdf + s.cdf_offset;
  t.cdf32 = tables;
  if (kShared) {
    uint8_t* used = shared + factors_bytes(s.alphabet);
    uint16_t* cdf16 = reinterpret_cast<uint16_t*>(used + used_bytes(s.columns));
    for (uint32_t k = threadIdx.x; k < s.columns; k += 32) {
      const int n = compact_cdf(tables + size_t(k) * (s.alphabet + 1), s.alphabet, precision,
                                cdf16 + size_t(k) * s.alphabet);
      used[k] = uint8_t(n - 1);  // n >= 1 (cdf[0] = 0); stored minus one so 256 would fit
    }
    t.cdf16 = cdf16;
    t.used = used;
  }
  __syncwarp();
  return t;
}

// Symbol of `slot` in column k, with its start and frequency.
template <bool kShared>
__device__ __forceinline__ int lookup_slot(const StreamTables& t, uint32_t k, int alphabet, int top,
                                           uint32_t slot, int precision, uint32_t& start,
                                           uint32_t& freq) {
  if (kShared) {
    return find_symbol_compact(t.cdf16 + size_t(k) * alphabet, int(t.used[k]) + 1, top, slot,
                               precision, start, freq);
  }
  const uint32_t* c = t.cdf32 + size_t(k) * (alphabet + 1);
  const int s = find_symbol(c, alphabet, top, slot);
  start = c[s];
  freq = c[s + 1] - start;
  return s;
}

template <bool kShared>
__device__ __forceinline__ void symbol_range(const StreamTables& t, uint32_t k, int alphabet,
                                             int symbol, int precision, uint32_t& start,
                                             uint32_t& freq) {
  if (kShared) {
    symbol_range_compact(t.cdf16 + size_t(k) * alphabet, int(t.used[k]) + 1, symbol, precision,
                         start, freq);
    return;
  }
  const uint32_t* c = t.cdf32 + size_t(k) * (alphabet + 1);
  start = c[symbol];
  freq = c[symbol + 1] - start;
}

// Exclusive prefix sum over the warp of each lane's byte count n (0-2), and the total.
// Returns whether any lane needs two bytes.
__device__ __forceinline__ bool warp_prefix(int n, int& before, int& total) {
  const unsigned ones = __ballot_sync(kFullMask, n >= 1);
  const unsigned twos = __ballot_sync(kFullMask, n == 2);
  const unsigned below = (1u << threadIdx.x) - 1u;
  before = __popc(ones & below) + __popc(twos & below);
  total = __popc(ones) + __popc(twos);
  return twos != 0;
}

// The byte stream seen through a 256-byte window held in the warp's registers: lane i holds
// words i of [base, base + 128) (`cur`) and [base + 128, base + 256) (`next`); a lane reads a
// byte with two shuffles. Loads of the next 128 bytes are issued one window ahead, so refills
// never wait on memory. Reads may extend past the stream into the padded staging buffer.
struct ByteWindow {
  const uint32_t* words;  // the payload buffer, 4-byte aligned
  uint64_t base;          // absolute byte offset of the window, a multiple of 128
  uint32_t cur, next;

  __device__ void start(const uint8_t* payload, uint64_t at) {
    words = reinterpret_cast<const uint32_t*>(payload);
    base = at / 128 * 128;
    cur = words[base / 4 + threadIdx.x];
    next = words[base / 4 + 32 + threadIdx.x];
  }
  // Byte at absolute offset p, base <= p < base + 256. Every lane must call it.
  __device__ __forceinline__ uint32_t byte(uint64_t p) const {
    const uint32_t o = uint32_t(p - base);
    const int lane = int(o >> 2) & 31;
    const uint32_t a = __shfl_sync(kFullMask, cur, lane);
    const uint32_t b = __shfl_sync(kFullMask, next, lane);
    return ((o < 128 ? a : b) >> ((o & 3) * 8)) & 0xffu;
  }
  // Keeps [p, p + 128) inside the window.
  __device__ __forceinline__ void advance(uint64_t p) {
    if (p - base >= 128) {
      base += 128;
      cur = next;
      next = words[(base + 128) / 4 + threadIdx.x];
    }
  }
};

// One warp per stream. LPT: states per thread, ceil(lanes / 32) rounded up to 1, 2, 4 or 8.
// Lane l of a stream lives in thread l % 32 as state l / 32; columns of a group of `lanes`
// are visited 32 at a time, in order, as the CPU's scalar loop visits them.
template <int LPT, bool kShared>
__global__ void __launch_bounds__(32)
    rans_decode_kernel(const StreamInfo* streams, const ChunkInfo* chunks, const uint8_t* payload,
                       const uint32_t* cdf, const float* scales, int precision, uint32_t* status) {
  extern __shared__ __align__(16) uint8_t shared[];
  const StreamInfo s = streams[blockIdx.x];
  const ChunkInfo c = chunks[s.chunk];
  const int lane = threadIdx.x;
  const StreamTables tables = load_stream_tables<kShared>(s, cdf, precision, shared);
  const uint8_t* bytes = payload + s.bytes_offset;
  const int steps = int((s.lanes + 31) / 32);  // per group of `lanes` columns
  const int top = top_step(s.alphabet);
  const uint32_t mask = (1u << precision) - 1u;
  if (s.size < 4u * s.lanes) {
    if (lane == 0)
      status[blockIdx.x] = kStreamTooShort;
    return;
  }
  uint32_t x[LPT];
#pragma unroll
  for (int j = 0; j < LPT; ++j) {
    const uint32_t at = 4u * uint32_t(j * 32 + lane);
    x[j] = j < steps && j * 32 + lane < int(s.lanes)
               ? uint32_t(bytes[at]) | uint32_t(bytes[at + 1]) << 8 |
                     uint32_t(bytes[at + 2]) << 16 | uint32_t(bytes[at + 3]) << 24
               : kRansLowBound;
  }
  uint32_t pos = 4u * s.lanes;
  ByteWindow window;
  window.start(payload, s.bytes_offset + pos);
  const uint32_t groups = s.columns / s.lanes;
  void* out = c.kv;
  const bool delta = c.delta_group != 0 && s.plane == 0;
  for (uint32_t r = 0; r < s.rows; ++r) {
    const int64_t token = plane_row_token(s.plane, r, c.delta_group);
    const float scale = scales[s.scale_offset + token];
    const uint64_t row_out = s.out_offset + uint64_t(token) * uint64_t(c.channels);
    const uint64_t anchor_out =
        delta ? s.out_offset + uint64_t(token - token % c.delta_group) * uint64_t(c.channels) : 0;
    for (uint32_t g = 0; g < groups; ++g) {
#pragma unroll
      for (int j = 0; j < LPT; ++j) {
        if (j >= steps)
          break;
        const bool active = j * 32 + lane < int(s.lanes);
        const uint32_t k = g * s.lanes + uint32_t(j * 32 + lane);
        int n = 0, symbol = 0;
        uint32_t v = x[j];
        float anchor = 0;
        if (active) {
          if (delta)  // issued early: only the store below waits for it
            anchor = load_element(out, anchor_out + k, c.dtype);
          uint32_t start, freq;
          symbol =
              lookup_slot<kShared>(tables, k, s.alphabet, top, v & mask, precision, start, freq);
          v = rans_advance(v, start, freq, precision);
          n = rans_refill_bytes(v);
        }
        int before, total;
        const bool any_two = warp_prefix(n, before, total);
        if (pos + uint32_t(total) > s.size) {
          if (lane == 0)
            status[blockIdx.x] = kStreamOverrun;
          return;
        }
        const uint64_t p = s.bytes_offset + pos + uint32_t(before);
        if (total > 0) {  // (uniform branches: the shuffles need the whole warp)
          const uint32_t b0 = window.byte(p);
          if (n >= 1)
            v = v << 8 | b0;
          if (any_two) {
            const uint32_t b1 = window.byte(p + 1);
            if (n == 2)
              v = v << 8 | b1;
          }
        }
        pos += uint32_t(total);
        window.advance(s.bytes_offset + pos);
        x[j] = v;
        if (active) {
          float value = tables.factors[symbol] * scale;
          if (delta)
            value = anchor + value;
          store_element(out, row_out + k, c.dtype, value);
        }
      }
    }
  }
  bool final_ok = true;
#pragma unroll
  for (int j = 0; j < LPT; ++j)
    final_ok = final_ok && (j >= steps || j * 32 + lane >= int(s.lanes) || x[j] == kRansLowBound);
  const bool all_ok = __all_sync(kFullMask, final_ok);
  if (lane == 0)
    status[blockIdx.x] = !all_ok ? kStreamBadFinal : pos != s.size ? kStreamLeftover : kStreamFine;
}

// One warp per stream: the decode schedule run backwards. Writes the stream into
// scratch[bytes_offset, bytes_offset + capacity) ending at its end; sizes[i] = its length.
template <int LPT, bool kShared>
__global__ void __launch_bounds__(32)
    rans_encode_kernel(const StreamInfo* streams, const uint8_t* symbols, const uint32_t* cdf,
                       int precision, uint8_t* scratch, uint64_t* sizes) {
  extern __shared__ __align__(16) uint8_t shared[];
  const StreamInfo s = streams[blockIdx.x];
  const int lane = threadIdx.x;
  const StreamTables tables = load_stream_tables<kShared>(s, cdf, precision, shared);
  const int steps = int((s.lanes + 31) / 32);
  const uint8_t* sym = symbols + s.symbols_offset;
  uint8_t* out = scratch + s.bytes_offset;
  uint32_t x[LPT];
#pragma unroll
  for (int j = 0; j < LPT; ++j)
    x[j] = kRansLowBound;
  uint64_t ptr = s.capacity;
  const uint32_t groups = s.columns / s.lanes;
  const uint64_t row_stride = s.row_stride;
  for (int64_t r = int64_t(s.rows) - 1; r >= 0; --r) {
    const uint8_t* row = sym + uint64_t(r) * row_stride;
    for (int64_t g = int64_t(groups) - 1; g >= 0; --g) {
#pragma unroll
      for (int j = LPT - 1; j >= 0; --j) {
        if (j >= steps)
          continue;
        const bool active = j * 32 + lane < int(s.lanes);
        const uint32_t k = uint32_t(g) * s.lanes + uint32_t(j * 32 + lane);
        int n = 0;
        uint32_t start = 0, freq = 1;
        uint32_t v = x[j];
        if (active) {
          symbol_range<kShared>(tables, k, s.alphabet, row[k], precision, start, freq);
          n = rans_emit_bytes(v, freq, precision);
        }
        int before, total;
        warp_prefix(n, before, total);
        const uint64_t base = ptr - uint64_t(total);
        if (n == 2) {
          out[base + before] = uint8_t(v >> 8);
          out[base + before + 1] = uint8_t(v);
        } else if (n == 1) {
          out[base + before] = uint8_t(v);
        }
        ptr = base;
        if (active)
          x[j] = rans_put(v >> (8 * n), start, freq, precision);
      }
    }
  }
  ptr -= 4u * s.lanes;
#pragma unroll
  for (int j = 0; j < LPT; ++j) {
    if (j < steps && j * 32 + lane < int(s.lanes)) {
      const uint64_t at = ptr + 4u * uint32_t(j * 32 + lane);
      out[at] = uint8_t(x[j]);
      out[at + 1] = uint8_t(x[j] >> 8);
      out[at + 2] = uint8_t(x[j] >> 16);
      out[at + 3] = uint8_t(x[j] >> 24);
    }
  }
  if (lane == 0)
    sizes[blockIdx.x] = s.capacity - ptr;
}

// Copies each stream's bytes (at the end of its scratch region) to payload[offsets[i]].
__global__ void compact_streams_kernel(const StreamInfo* streams, const uint8_t* scratch,
                                       const uint64_t* sizes, const uint64_t* offsets,
                                       uint8_t* payload) {
  const StreamInfo s = streams[blockIdx.x];
  const uint64_t size = sizes[blockIdx.x];
  const uint8_t* src = scratch + s.bytes_offset + s.capacity - size;
  uint8_t* dst = payload + offsets[blockIdx.x];
  for (uint64_t i = threadIdx.x; i < size; i += blockDim.x)
    dst[i] = src[i];
}

// Quantization of one plane's rows, one warp per (layer, kind, token) row of C channels.
// Writes symbols [lk][plane_row][C] and scales [lk][T]; for anchors (plane 1 with delta) also
// the reconstructed anchor [lk][anchor_row][C] in fp32 (rounded to dtype, as the decoder sees
// it); plane 0 with delta quantizes the difference from it. bins[lk] per (layer, kind).
struct QuantizeJob {
  const void* kv;
  int dtype;
  int64_t layers, tokens, channels;
  int64_t delta_group;  // 0: delta off
  int plane;
  int64_t plane_rows;
  const int32_t* max_levels;  // per (layer, kind) for this plane
  uint8_t* symbols;           // this plane's
  float* scales;
  float* anchors;  // [lk][anchor_row][C]
  int64_t anchor_rows;
  float dtype_max;
  unsigned long long* bad_element;  // smallest flat index of a non-finite input
};

__global__ void quantize_kernel(QuantizeJob job) {
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= job.layers * 2 * job.plane_rows)
    return;
  const int64_t lk = warp / job.plane_rows, r = warp % job.plane_rows;
  const int64_t group = job.delta_group;
  const int64_t token = plane_row_token(job.plane, r, group);
  const int64_t c_count = job.channels;
  const uint64_t in_row = (uint64_t(lk) * job.tokens + token) * c_count;
  const bool delta_diff = group != 0 && job.plane == 0;
  const float* anchor =
      delta_diff ? job.anchors + (uint64_t(lk) * job.anchor_rows + token / group) * c_count
                 : nullptr;
  float m = 0;
  for (int64_t i = lane; i < c_count; i += 32) {
    float v = load_element(job.kv, in_row + i, job.dtype);
    if (!isfinite(v))
      atomicMin(job.bad_element, (unsigned long long)(in_row + i));
    if (delta_diff)
      v = v - anchor[i];
    m = fmaxf(m, fabsf(v));
  }
  for (int offset = 16; offset > 0; offset >>= 1)
    m = fmaxf(m, __shfl_xor_sync(kFullMask, m, offset));
  float scale = m;
  if (delta_diff) {
    scale = round_to_element(m, job.dtype);
    scale = scale < job.dtype_max ? scale : job.dtype_max;
  }
  const int max_level = job.max_levels[lk];
  uint8_t* q = job.symbols + (uint64_t(lk) * job.plane_rows + r) * c_count;
  for (int64_t i = lane; i < c_count; i += 32) {
    float v = load_element(job.kv, in_row + i, job.dtype);
    if (delta_diff)
      v = v - anchor[i];
    const uint8_t level = quantize_value(v, scale, max_level);
    q[i] = level;
    if (group != 0 && job.plane == 1) {
      job.anchors[(uint64_t(lk) * job.anchor_rows + r) * c_count + i] =
          round_to_element(dequantize_value(level, max_level, scale), job.dtype);
    }
  }
  if (lane == 0)
    job.scales[uint64_t(lk) * job.tokens + token] = scale;
}

// Symbol counts per (layer, kind, channel) of one plane: block = 32 channels x 8 row slices.
// counts are written at count_offsets[table_base + lk * C + channel].
__global__ void count_symbols_kernel(const uint8_t* symbols, int64_t plane_rows, int64_t channels,
                                     const int32_t* alphabets, const uint64_t* count_offsets,
                                     int64_t table_base, uint32_t* counts) {
  __shared__ uint32_t histogram[256 * 32];
  const int64_t tiles = (channels + 31) / 32;
  const int64_t lk = blockIdx.x / tiles;
  const int64_t channel = (blockIdx.x % tiles) * 32 + threadIdx.x;
  const int alphabet = alphabets[lk];
  for (int i = threadIdx.y * 32 + threadIdx.x; i < alphabet * 32; i += 256)
    histogram[i] = 0;
  __syncthreads();
  if (channel < channels) {
    const uint8_t* column = symbols + uint64_t(lk) * plane_rows * channels + channel;
    for (int64_t r = threadIdx.y; r < plane_rows; r += 8)
      atomicAdd(&histogram[column[uint64_t(r) * channels] * 32 + threadIdx.x], 1u);
  }
  __syncthreads();
  if (channel < channels && threadIdx.y == 0) {
    uint32_t* out = counts + count_offsets[table_base + lk * channels + channel];
    for (int s = 0; s < alphabet; ++s)
      out[s] = histogram[s * 32 + threadIdx.x];
  }
}

}  // namespace cachegen::gpu
