// cachegen: the CacheGen KV codec (Liu et al., SIGCOMM 2024; ../shared/reference/cachegen.md §1).
//
// Encode, per chunk:
//  1. Quantize each (layer, kind, token) vector of C channels with one absmax scale and the
//     layer's bin count (level_table.h: shallow layers get more bins). With delta=on, tokens are
//     grouped by `delta_group` (10 in the paper); the first of each group, the anchor, is
//     quantized at `anchor_bins` (8-bit), the others as the difference from the reconstructed
//     anchor. Symbols fall in "planes": plane 0 holds all tokens (delta=off) or the non-anchor
//     tokens; plane 1 holds the anchors.
//  2. Count symbols per (plane, layer, kind, channel) and build one probability table for each
//     (the paper's insight: distributions differ across layers and channels). tables=chunk ships
//     the counts in the chunk, as the released code does; tables=profile names an offline
//     profile by id instead, as the paper does.
//  3. Entropy-code each block of `lanes * lane_channels` channels (rANS) or `lane_channels`
//     channels (arithmetic coder) over all of the plane's tokens as one independent stream. The
//     streams are what a GPU decodes in parallel; rANS lanes interleave within a stream.
//
// The container layout and parameters live in cachegen_format.h (shared with the GPU codec).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "cachegen/codec/arith_coder.h"
#include "cachegen/codec/freq_table.h"
#include "cachegen/codec/level_table.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/quantize.h"
#include "cachegen/codec/rans_coder.h"
#include "cachegen/core/parallel.h"
#include "cachegen_format.h"
#include "codec_common.h"
#include "quantize_rows.h"
#include "symbol_lookup.h"

namespace cachegen {

namespace {
constexpr size_t kDecodeBatch = 4;  // rANS streams decoded together
constexpr int64_t kBlockRows = 64;  // rows decoded before they are dequantized

float dtype_max(DType dtype) {
  return dtype == DType::kF16 ? 65504.0f : std::numeric_limits<float>::max();
}

using Plan = CachegenPlan;

class CachegenCodec : public Codec {
 public:
  CachegenCodec(const Options& options, const CodecContext& context)
      : threads_(context.threads), format_(options, context) {}

  std::string name() const override { return "cachegen"; }

  std::string params() const override { return format_options(format_.param_map(-1)); }

  // Quantized symbols per plane: [layer, kind, plane row, channel], and scales [L, 2, T].
  struct Quantized {
    ByteBuffer symbols[2];
    std::vector<float> scales;
  };

  Quantized quantize(const KVCache& kv, const Plan& plan) const {
    const int64_t c = plan.channels, t_count = plan.tokens;
    Quantized out;
    for (int p = 0; p < plan.planes; ++p) {
      out.symbols[p].resize(static_cast<size_t>(plan.layers * 2 * plan.plane_rows(p) * c));
    }
    out.scales.resize(static_cast<size_t>(plan.layers * 2 * t_count));
    const DType dtype = kv.dtype();
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      const int64_t layer = lk / 2;
      const int kind = static_cast<int>(lk % 2);
      std::vector<float> x(static_cast<size_t>(c)), anchor(static_cast<size_t>(c)),
          diff(static_cast<size_t>(c));
      int64_t next_row[2] = {0, 0};
      for (int64_t t = 0; t < t_count; ++t) {
        kv.load_row(layer, kind, t, x.data());
        float row_absmax = 0;
        int64_t bad = 0;
        if (!finite_absmax(x.data(), c, row_absmax, bad)) {  // would quantize to garbage
          fail("cachegen encode: non-finite value ", x[static_cast<size_t>(bad)], " at layer ",
               layer, ", ", kv_kind_name(kind), ", token ", t, ", channel ", bad);
        }
        const int plane = plan.is_anchor(t) ? 1 : 0;
        const int max_level = plan.bins_of(plane, layer, kind) / 2 - 1;
        uint8_t* q =
            out.symbols[plane].data() + (lk * plan.plane_rows(plane) + next_row[plane]++) * c;
        float& scale = out.scales[static_cast<size_t>(lk * t_count + t)];
        if (!plan.delta || plane == 1) {
          scale = row_absmax;  // an input value: exact in dtype
          quantize_row(x.data(), c, scale, max_level, q);
          if (plane == 1) {  // keep the anchor exactly as the decoder will see it
            for (int64_t i = 0; i < c; ++i) {
              anchor[static_cast<size_t>(i)] =
                  round_to_dtype(dequantize_symmetric(q[i], max_level, scale), dtype);
            }
          }
        } else {
          for (int64_t i = 0; i < c; ++i) {
            diff[static_cast<size_t>(i)] =
                x[static_cast<size_t>(i)] - anchor[static_cast<size_t>(i)];
          }
          scale = std::min(round_to_dtype(absmax(diff.data(), c), dtype), dtype_max(dtype));
          quantize_row(diff.data(), c, scale, max_level, q);
        }
      }
    });
    return out;
  }

  std::vector<uint32_t> count_symbols(const Quantized& q, const Plan& plan,
                                      const std::vector<int64_t>& offsets) const {
    std::vector<uint32_t> counts(static_cast<size_t>(offsets.back()), 0);
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      for (int p = 0; p < plan.planes; ++p) {
        const int alphabet = plan.alphabet(p, lk / 2, static_cast<int>(lk % 2));
        uint32_t* base =
            counts.data() +
            offsets[static_cast<size_t>(plan.table_index(p, lk / 2, static_cast<int>(lk % 2), 0))];
        const uint8_t* sym = q.symbols[p].data() + lk * plan.plane_rows(p) * plan.channels;
        for (int64_t r = 0; r < plan.plane_rows(p); ++r) {
          for (int64_t c = 0; c < plan.channels; ++c)
            ++base[c * alphabet + sym[r * plan.channels + c]];
        }
      }
    });
    return counts;
  }

  std::vector<FreqTable> build_tables(const Plan& plan, const std::vector<int64_t>& offsets,
                                      const std::vector<uint32_t>& counts, bool all_symbols) const {
    std::vector<FreqTable> tables(static_cast<size_t>(plan.table_count()));
    parallel_for(plan.table_count(), threads_, [&](int64_t i) {
      int64_t per_plane = plan.layers * 2 * plan.channels;
      int p = static_cast<int>(i / per_plane);
      int64_t lk = (i % per_plane) / plan.channels;
      tables[static_cast<size_t>(i)] = FreqTable::from_counts(
          counts.data() + offsets[static_cast<size_t>(i)],
          plan.alphabet(p, lk / 2, static_cast<int>(lk % 2)), format_.precision(), all_symbols);
    });
    return tables;
  }

  std::vector<uint8_t> encode(const KVCache& kv, const ChunkPosition& position,
                              EncodeStats* stats) const override {
    const Plan plan = format_.make_plan(kv.shape());
    const Quantized q = quantize(kv, plan);
    const std::vector<int64_t> offsets = plan.count_offsets();
    const std::vector<uint32_t> counts = count_symbols(q, plan, offsets);
    const std::vector<FreqTable> tables =
        format_.profile() ? build_tables(plan, offsets, format_.profile_counts(plan, offsets), true)
                          : build_tables(plan, offsets, counts, false);
    std::vector<const FreqTable*> table_ptrs;
    for (const FreqTable& t : tables)
      table_ptrs.push_back(&t);

    const std::vector<CachegenStream> tasks = format_.streams(plan);
    std::vector<std::vector<uint8_t>> streams(tasks.size());
    parallel_for(static_cast<int64_t>(tasks.size()), threads_, [&](int64_t i) {
      const CachegenStream& task = tasks[static_cast<size_t>(i)];
      const uint8_t* sym =
          q.symbols[task.plane].data() +
          (task.layer * 2 + task.kind) * plan.plane_rows(task.plane) * plan.channels +
          task.first_channel;
      const FreqTable* const* t = &table_ptrs[static_cast<size_t>(
          plan.table_index(task.plane, task.layer, task.kind, task.first_channel))];
      std::vector<uint8_t>& out = streams[static_cast<size_t>(i)];
      if (format_.coder() == "rans") {
        rans_encode(sym, plan.plane_rows(task.plane), task.channels, plan.channels,
                    format_.lanes_for(task.channels), t, out);
      } else {
        arith_encode(sym, plan.plane_rows(task.plane), task.channels, plan.channels, t, out);
      }
    });

    std::vector<uint64_t> lengths;
    std::vector<uint8_t> payload;
    for (const auto& stream : streams) {
      lengths.push_back(stream.size());
      payload.insert(payload.end(), stream.begin(), stream.end());
    }
    if (stats) {
      stats->payload_bits += 8.0 * static_cast<double>(payload.size());
      for (int64_t i = 0; i < plan.table_count(); ++i) {
        int64_t rows = plan.plane_rows(plan.table_plane(i));
        if (rows == 0)
          continue;
        const uint32_t* c = counts.data() + offsets[static_cast<size_t>(i)];
        stats->model_bits += tables[static_cast<size_t>(i)].model_bits(c);
        stats->empirical_bits += empirical_bits(c, tables[static_cast<size_t>(i)].alphabet());
        stats->symbols += rows;
      }
    }
    return format_.assemble(kv.shape(), kv.dtype(), position, plan, q.scales, offsets, counts,
                            lengths, std::move(payload));
  }

  KVCache decode(const uint8_t* data, size_t size, uint64_t file_offset) const override {
    const CachegenChunk chunk = format_.parse(data, size, file_offset);
    KVCache kv = KVCache::uninitialized(chunk.header.shape, chunk.header.dtype);
    decode_chunk(chunk, kv, 0);  // writes every element
    return kv;
  }

  void decode_into(const uint8_t* data, size_t size, uint64_t file_offset, KVCache& dst,
                   int64_t token_offset) const override {
    const CachegenChunk chunk = format_.parse(data, size, file_offset);
    if (dst.dtype() != chunk.header.dtype) {  // as decode() then converting (anchors included)
      Codec::decode_into(data, size, file_offset, dst, token_offset);
      return;
    }
    check_decode_destination(chunk.header.shape, dst, token_offset,
                             str("cachegen chunk at byte offset ", file_offset));
    decode_chunk(chunk, dst, token_offset);
  }

  // Decodes a parsed chunk into dst's tokens [token_offset, ...) (dst in the chunk's dtype).
  void decode_chunk(const CachegenChunk& chunk, KVCache& dst, int64_t token_offset) const {
    const Plan& plan = chunk.plan;
    const std::vector<FreqTable> tables =
        build_tables(plan, chunk.offsets, chunk.counts(), chunk.all_symbols);
    std::vector<const FreqTable*> table_ptrs;
    for (const FreqTable& t : tables)
      table_ptrs.push_back(&t);
    const std::vector<CachegenStream>& tasks = chunk.streams;
    // Streams of equal shape decode in batches: the vector rANS kernel interleaves them.
    std::vector<std::pair<size_t, size_t>> batches;  // [first, last) task
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (batches.empty() || i - batches.back().first == kDecodeBatch ||
          tasks[i].plane != tasks[batches.back().first].plane ||
          tasks[i].channels != tasks[batches.back().first].channels) {
        batches.emplace_back(i, i);
      }
      batches.back().second = i + 1;
    }
    auto stream_of = [&](size_t i, uint8_t* symbols) {
      const CachegenStream& task = tasks[i];
      const FreqTable* const* t = &table_ptrs[static_cast<size_t>(
          plan.table_index(task.plane, task.layer, task.kind, task.first_channel))];
      return RansStream{chunk.payload + chunk.starts[i], chunk.starts[i + 1] - chunk.starts[i],
                        chunk.payload_file_offset + chunk.starts[i], t, symbols};
    };
    if (format_.coder() == "rans" && !plan.delta) {
      // Each batch decodes kBlockRows rows at a time into a small per-thread buffer
      // ([stream][row][channel], 32 KB for 4 streams of 128 channels) and dequantizes them from
      // there straight into dst, while they are in the L1 cache: no chunk-sized symbol array.
      parallel_for(static_cast<int64_t>(batches.size()), threads_, [&](int64_t b) {
        const auto [first, last] = batches[static_cast<size_t>(b)];
        const CachegenStream& head = tasks[first];
        const int64_t rows = plan.plane_rows(0), width = head.channels;
        const int64_t block_rows = std::min<int64_t>(kBlockRows, rows);
        thread_local ByteBuffer scratch;
        scratch.resize(static_cast<size_t>((last - first) * block_rows * width));
        std::vector<RansStream> streams;
        std::vector<uint8_t*> out;
        for (size_t i = first; i < last; ++i) {
          streams.push_back(stream_of(i, nullptr));
          out.push_back(scratch.data() + (i - first) * block_rows * width);
        }
        RansBatchDecoder decoder(streams.data(), static_cast<int>(streams.size()), rows, width,
                                 format_.lanes_for(width));
        RowDequantizer dequantizer(dst.dtype());
        const auto element = static_cast<int64_t>(dst.element_size());
        for (int64_t t0 = 0; t0 < rows; t0 += block_rows) {
          const int64_t n = std::min(block_rows, rows - t0);
          decoder.decode(n, out.data(), width);
          // Token by token; a row's table serves every stream of the batch on its (layer, kind).
          for (int64_t t = t0; t < t0 + n; ++t) {
            int64_t table_lk = -1;
            for (size_t i = first; i < last; ++i) {
              const CachegenStream& task = tasks[i];
              const int64_t lk = task.layer * 2 + task.kind;
              if (lk != table_lk) {
                dequantizer.set(plan.bins_of(0, task.layer, task.kind) / 2 - 1,
                                plan.alphabet(0, task.layer, task.kind),
                                chunk.scales[static_cast<size_t>(lk * plan.tokens + t)]);
                table_lk = lk;
              }
              dequantizer.apply(
                  out[i - first] + (t - t0) * width, width,
                  dst.row(task.layer, task.kind, token_offset + t) + task.first_channel * element);
            }
          }
        }
        decoder.finish();
      });
      return;
    }
    Quantized q;
    for (int p = 0; p < plan.planes; ++p)
      q.symbols[p].resize(
          static_cast<size_t>(plan.layers * 2 * plan.plane_rows(p) * plan.channels));
    parallel_for(static_cast<int64_t>(batches.size()), threads_, [&](int64_t b) {
      std::vector<RansStream> streams;
      for (size_t i = batches[static_cast<size_t>(b)].first;
           i < batches[static_cast<size_t>(b)].second; ++i) {
        const CachegenStream& task = tasks[i];
        uint8_t* sym = q.symbols[task.plane].data() +
                       (task.layer * 2 + task.kind) * plan.plane_rows(task.plane) * plan.channels +
                       task.first_channel;
        streams.push_back(stream_of(i, sym));
        const RansStream& stream = streams.back();
        if (format_.coder() == "ac") {
          arith_decode(stream.data, stream.size, stream.file_offset, plan.plane_rows(task.plane),
                       task.channels, plan.channels, stream.tables, sym);
        }
      }
      if (format_.coder() == "rans") {
        const CachegenStream& first = tasks[batches[static_cast<size_t>(b)].first];
        rans_decode_batch(streams.data(), static_cast<int>(streams.size()),
                          plan.plane_rows(first.plane), first.channels, plan.channels,
                          format_.lanes_for(first.channels));
      }
    });
    dequantize(q, chunk.scales, plan, dst, token_offset);
  }

  // One (layer, kind, token) row's symbols to values in a dtype: the symbols' values computed
  // and rounded once per row, then one table lookup per channel (symbol_lookup.h).
  class RowDequantizer {
   public:
    explicit RowDequantizer(DType dtype) : dtype_(dtype) {}
    void set(int max_level, int alphabet, float scale) {
      alphabet_ = alphabet;
      // Whole groups of 8 (entries past the alphabet are never looked up): the lookup reads the
      // table in 16-byte pieces, which narrower stores could not forward to it.
      const int entries = (alphabet + 7) / 8 * 8;
      if (dtype_ == DType::kF16) {
        level_table_f16(max_level, scale, entries, reinterpret_cast<uint16_t*>(raw_.data()));
        return;
      }
      for (int s = 0; s < entries; ++s)
        lut_[static_cast<size_t>(s)] = dequantize_symmetric(s, max_level, scale);
      from_float(dtype_, lut_.data(), raw_.data(), entries);
    }
    void apply(const uint8_t* sym, int64_t count, uint8_t* out) const {
      if (dtype_ == DType::kF32) {
        lookup_u32(sym, count, reinterpret_cast<const uint32_t*>(raw_.data()), alphabet_,
                   reinterpret_cast<uint32_t*>(out));
      } else {
        lookup_u16(sym, count, reinterpret_cast<const uint16_t*>(raw_.data()), alphabet_,
                   reinterpret_cast<uint16_t*>(out));
      }
    }

   private:
    DType dtype_;
    int alphabet_ = 0;
    std::array<float, 256> lut_{};
    alignas(64) std::array<uint8_t, 256 * 4> raw_{};  // past the alphabet: zeros, never read
  };

  void dequantize(const Quantized& q, const std::vector<float>& scales, const Plan& plan,
                  KVCache& kv, int64_t token_offset) const {
    const int64_t c = plan.channels;
    const DType dtype = kv.dtype();
    parallel_for(plan.layers * 2, threads_, [&](int64_t lk) {
      const int64_t layer = lk / 2;
      const int kind = static_cast<int>(lk % 2);
      std::vector<float> x(static_cast<size_t>(c)), anchor(static_cast<size_t>(c));
      RowDequantizer dequantizer(dtype);
      int64_t next_row[2] = {0, 0};
      for (int64_t t = 0; t < plan.tokens; ++t) {
        const int plane = plan.is_anchor(t) ? 1 : 0;
        const int max_level = plan.bins_of(plane, layer, kind) / 2 - 1;
        const uint8_t* sym =
            q.symbols[plane].data() + (lk * plan.plane_rows(plane) + next_row[plane]++) * c;
        const float scale = scales[static_cast<size_t>(lk * plan.tokens + t)];
        if (plan.delta && plane == 0) {
          for (int64_t i = 0; i < c; ++i) {
            x[static_cast<size_t>(i)] =
                anchor[static_cast<size_t>(i)] + dequantize_symmetric(sym[i], max_level, scale);
          }
          kv.store_row(layer, kind, token_offset + t, x.data());
          continue;
        }
        dequantizer.set(max_level, plan.alphabet(plane, layer, kind), scale);
        uint8_t* out = kv.row(layer, kind, token_offset + t);
        dequantizer.apply(sym, c, out);
        if (plan.delta)
          to_float(dtype, out, anchor.data(), c);
      }
    });
  }

  ProbabilityProfile build_profile(const std::vector<KVCache>& samples) const {
    if (samples.empty())
      fail("cachegen profile: needs at least one KV cache");
    ProbabilityProfile profile;
    const KVShape& first = samples[0].shape();
    profile.layers = first.layers;
    profile.channels = first.channels();
    profile.params = format_.defining_params(first.layers);
    for (const KVCache& kv : samples) {
      if (kv.shape().layers != first.layers || kv.shape().channels() != first.channels()) {
        fail("cachegen profile: KV caches of shapes ", first.to_string(), " and ",
             kv.shape().to_string(), " cannot share a profile");
      }
      const Plan plan = format_.make_plan(kv.shape());
      const std::vector<int64_t> offsets = plan.count_offsets();
      std::vector<uint32_t> counts = count_symbols(quantize(kv, plan), plan, offsets);
      if (profile.counts.empty())
        profile.counts.assign(counts.size(), 0);
      for (size_t i = 0; i < counts.size(); ++i)
        profile.counts[i] += counts[i];
    }
    profile.id = ProbabilityProfile::compute_id(profile.params, profile.counts);
    return profile;
  }

 private:
  int threads_;
  CachegenFormat format_;
};
}  // namespace

CACHEGEN_REGISTER(codec_registry(),
                  {"cachegen",
                   "CacheGen: layer-wise bins, anchor/delta, per-channel entropy coding",
                   cachegen_options()},
                  [](const Options& options, const CodecContext& context) {
                    return std::make_unique<CachegenCodec>(options, context);
                  });

ProbabilityProfile build_cachegen_profile(const Options& options, const CodecContext& context,
                                          const std::vector<KVCache>& samples) {
  return CachegenCodec(codec_registry().validated("cachegen", options), context)
      .build_profile(samples);
}

}  // namespace cachegen
