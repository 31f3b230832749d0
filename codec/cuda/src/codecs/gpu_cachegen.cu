// The cachegen codec on the GPU: host orchestration of rans_kernels.cuh. The container format,
// parameters and checks are the CPU codec's (codec/src/cachegen_format.h).
#include <algorithm>
#include <cfloat>
#include <cub/device/device_scan.cuh>
#include <map>
#include <tuple>

#include "cachegen/codec/cuda/gpu_codec.h"
#include "cachegen/core/parallel.h"
#include "cachegen_format.h"
#include "gpu_container.h"
#include "rans_kernels.cuh"

namespace cachegen::gpu {

namespace {

constexpr size_t kMaxSharedTables = 48 * 1024;  // without opting in to more shared memory

// States per thread for a stream of `lanes` lanes (ceil(lanes / 32), as a kernel instance).
int lanes_per_thread(int lanes) {
  if (lanes < 1 || lanes > 256)
    fail("GPU codec 'cachegen': streams of ", lanes, " rANS lanes (the GPU takes 1 to 256)");
  return lanes <= 32 ? 1 : lanes <= 64 ? 2 : lanes <= 128 ? 4 : 8;
}

// A run of streams decoded (or encoded) by one launch.
struct LaunchGroup {
  size_t first = 0, count = 0;
  int lpt = 1;
  bool shared = false;
  size_t shared_bytes = 0;
};

bool tables_fit_shared(const StreamInfo& s) {
  return stream_shared_bytes(s.columns, s.alphabet, true) <= kMaxSharedTables;
}

// Sorts streams (stably) into launch groups of equal plane order, LPT and table placement.
// `order` receives the permutation.
std::vector<LaunchGroup> group_streams(std::vector<StreamInfo>& streams, std::vector<size_t>& order,
                                       bool anchors_first) {
  auto key = [&](const StreamInfo& s) {
    const int plane_rank = anchors_first ? (s.plane == 1 ? 0 : 1) : 0;
    const int lpt = lanes_per_thread(int(s.lanes));
    const int shared = tables_fit_shared(s) ? 0 : 1;
    return std::make_tuple(plane_rank, lpt, shared);
  };
  order.resize(streams.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return key(streams[a]) < key(streams[b]); });
  std::vector<StreamInfo> sorted;
  for (size_t i : order)
    sorted.push_back(streams[i]);
  streams = sorted;
  std::vector<LaunchGroup> groups;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (groups.empty() || key(streams[i]) != key(streams[groups.back().first])) {
      LaunchGroup g;
      g.first = i;
      g.lpt = lanes_per_thread(int(streams[i].lanes));
      g.shared = tables_fit_shared(streams[i]);
      groups.push_back(g);
    }
    LaunchGroup& g = groups.back();
    ++g.count;
    g.shared_bytes = std::max(
        g.shared_bytes, stream_shared_bytes(streams[i].columns, streams[i].alphabet, g.shared));
  }
  return groups;
}

template <int LPT>
void launch_decode(const LaunchGroup& g, const StreamInfo* streams, const ChunkInfo* chunks,
                   const uint8_t* payload, const uint32_t* cdf, const float* scales, int precision,
                   uint32_t* status, cudaStream_t stream) {
  if (g.shared) {
    rans_decode_kernel<LPT, true><<<unsigned(g.count), 32, g.shared_bytes, stream>>>(
        streams + g.first, chunks, payload, cdf, scales, precision, status + g.first);
  } else {
    rans_decode_kernel<LPT, false><<<unsigned(g.count), 32, g.shared_bytes, stream>>>(
        streams + g.first, chunks, payload, cdf, scales, precision, status + g.first);
  }
  CG_CUDA_LAUNCHED("rans_decode_kernel");
}

template <int LPT>
void launch_encode(const LaunchGroup& g, const StreamInfo* streams, const uint8_t* symbols,
                   const uint32_t* cdf, int precision, uint8_t* scratch, uint64_t* sizes,
                   cudaStream_t stream) {
  if (g.shared) {
    rans_encode_kernel<LPT, true><<<unsigned(g.count), 32, g.shared_bytes, stream>>>(
        streams + g.first, symbols, cdf, precision, scratch, sizes + g.first);
  } else {
    rans_encode_kernel<LPT, false><<<unsigned(g.count), 32, g.shared_bytes, stream>>>(
        streams + g.first, symbols, cdf, precision, scratch, sizes + g.first);
  }
  CG_CUDA_LAUNCHED("rans_encode_kernel");
}

template <typename Fn>
void dispatch_lpt(int lpt, Fn&& fn) {
  switch (lpt) {
    case 1:
      fn(std::integral_constant<int, 1>{});
      break;
    case 2:
      fn(std::integral_constant<int, 2>{});
      break;
    case 4:
      fn(std::integral_constant<int, 4>{});
      break;
    default:
      fn(std::integral_constant<int, 8>{});
      break;
  }
}

class GpuCachegenCodec : public GpuCodec {
 public:
  GpuCachegenCodec(const Options& options, const CodecContext& context)
      : threads_(context.threads), format_(options, context) {
    if (format_.coder() != "rans") {
      fail("GPU codec 'cachegen': coder=", format_.coder(),
           " runs on the CPU only; the GPU codes coder=rans");
    }
  }

  std::string name() const override { return "cachegen"; }
  std::string params() const override { return format_options(format_.param_map(-1)); }

  void decode_prepare(const std::vector<ContainerSpan>& containers,
                      const std::vector<DeviceKV>& outputs, Workspace& ws) const override {
    if (containers.size() != outputs.size()) {
      fail("GPU decode: ", containers.size(), " containers but ", outputs.size(), " outputs");
    }
    // Parsing (checksums, tables, lengths) is the host's share: one container per thread.
    std::vector<CachegenChunk> chunks(containers.size());
    parallel_for(int64_t(containers.size()), threads_, [&](int64_t j) {
      const ContainerSpan& span = containers[size_t(j)];
      chunks[size_t(j)] = format_.parse(span.data, span.size, span.file_offset);
    });
    size_t tables = 0, counts = 0, scales = 0, payload = 0, stream_count = 0;
    for (size_t j = 0; j < containers.size(); ++j) {
      const ContainerSpan& span = containers[j];
      const CachegenChunk& c = chunks[j];
      if (outputs[j].shape != c.header.shape || outputs[j].dtype != c.header.dtype) {
        fail("GPU decode: output ", j, " is ", outputs[j].shape.to_string(), " ",
             dtype_name(outputs[j].dtype), " but the container at byte offset ", span.file_offset,
             " holds ", c.header.shape.to_string(), " ", dtype_name(c.header.dtype));
      }
      tables += size_t(c.plan.table_count());
      counts += size_t(c.offsets.back());
      scales += c.scales.size();
      payload += size_t(c.starts.back());
      stream_count += c.streams.size();
    }

    // Descriptors, in launch order.
    std::vector<ChunkInfo> chunk_infos;
    std::vector<StreamInfo> streams;
    std::vector<uint64_t> stream_offsets;  // container file offset per stream
    size_t table_base = 0, count_base = 0, scale_base = 0, payload_base = 0;
    for (size_t j = 0; j < chunks.size(); ++j) {
      const CachegenChunk& c = chunks[j];
      const CachegenPlan& plan = c.plan;
      chunk_infos.push_back({outputs[j].data, int(c.header.dtype), plan.tokens, plan.channels,
                             plan.delta ? plan.delta_group : 0});
      for (size_t i = 0; i < c.streams.size(); ++i) {
        const CachegenStream& cs = c.streams[i];
        const uint64_t size = c.starts[i + 1] - c.starts[i];
        if (size > UINT32_MAX)
          fail("GPU decode: stream ", i, " of the container at byte offset ",
               containers[j].file_offset, " is over 4 GiB");
        const int64_t table = plan.table_index(cs.plane, cs.layer, cs.kind, cs.first_channel);
        const int64_t lk = cs.layer * 2 + cs.kind;
        StreamInfo s{};
        s.bytes_offset = payload_base + c.starts[i];
        s.cdf_offset =
            count_base + uint64_t(c.offsets[size_t(table)]) + table_base + uint64_t(table);
        s.out_offset = uint64_t(lk * plan.tokens * plan.channels + cs.first_channel);
        s.scale_offset = scale_base + uint64_t(lk * plan.tokens);
        s.size = uint32_t(size);
        s.rows = uint32_t(plan.plane_rows(cs.plane));
        s.columns = uint32_t(cs.channels);
        s.lanes = uint32_t(format_.lanes_for(cs.channels));
        s.alphabet = plan.alphabet(cs.plane, cs.layer, cs.kind);
        s.max_level = plan.bins_of(cs.plane, cs.layer, cs.kind) / 2 - 1;
        s.plane = cs.plane;
        s.chunk = uint32_t(j);
        streams.push_back(s);
        stream_offsets.push_back(containers[j].file_offset);
      }
      table_base += size_t(plan.table_count());
      count_base += size_t(c.offsets.back());
      scale_base += c.scales.size();
      payload_base += size_t(c.starts.back());
    }
    std::vector<size_t> order;
    const std::vector<LaunchGroup> groups = group_streams(streams, order, true);
    ws.stream_file_offsets.clear();
    for (size_t i : order)
      ws.stream_file_offsets.push_back(stream_offsets[i]);
    ws.status_words = streams.size();

    // Everything the device needs, in one upload.
    Layout staged;
    const size_t at_chunks = staged.take<ChunkInfo>(chunk_infos.size());
    const size_t at_streams = staged.take<StreamInfo>(streams.size());
    const size_t at_offsets = staged.take<uint64_t>(tables + 1);
    const size_t at_all = staged.take<uint8_t>(tables);
    const size_t at_counts = staged.take<uint32_t>(counts);
    const size_t at_scales = staged.take<float>(scales);
    const size_t at_payload = staged.take<uint8_t>(payload + 256);  // + the window's overreach
    CG_CUDA(cudaEventSynchronize(ws.upload_done));                  // host_staging is free again
    ws.host_staging.reserve(staged.total());
    uint8_t* host = ws.host_staging.data();
    std::copy(chunk_infos.begin(), chunk_infos.end(), at<ChunkInfo>(host, at_chunks));
    std::copy(streams.begin(), streams.end(), at<StreamInfo>(host, at_streams));
    {
      // Each chunk's part of every staged array starts at the running totals of the earlier ones.
      std::vector<size_t> first_table(chunks.size() + 1, 0), first_count(chunks.size() + 1, 0),
          first_scale(chunks.size() + 1, 0), first_byte(chunks.size() + 1, 0);
      for (size_t j = 0; j < chunks.size(); ++j) {
        first_table[j + 1] = first_table[j] + size_t(chunks[j].plan.table_count());
        first_count[j + 1] = first_count[j] + size_t(chunks[j].offsets.back());
        first_scale[j + 1] = first_scale[j] + chunks[j].scales.size();
        first_byte[j + 1] = first_byte[j] + size_t(chunks[j].starts.back());
      }
      parallel_for(int64_t(chunks.size()), threads_, [&](int64_t jj) {
        const size_t j = size_t(jj);
        const CachegenChunk& c = chunks[j];
        uint64_t* offsets = at<uint64_t>(host, at_offsets) + first_table[j];
        uint8_t* all = at<uint8_t>(host, at_all) + first_table[j];
        for (int64_t i = 0; i < c.plan.table_count(); ++i) {
          offsets[i] = first_count[j] + uint64_t(c.offsets[size_t(i)]);
          all[i] = c.all_symbols ? 1 : 0;
        }
        std::copy(c.counts().begin(), c.counts().end(),
                  at<uint32_t>(host, at_counts) + first_count[j]);
        std::copy(c.scales.begin(), c.scales.end(), at<float>(host, at_scales) + first_scale[j]);
        std::copy(c.payload, c.payload + c.starts.back(),
                  at<uint8_t>(host, at_payload) + first_byte[j]);
      });
      at<uint64_t>(host, at_offsets)[tables] = first_count.back();
    }
    const size_t staged_bytes = staged.total(), stream_count_total = streams.size();
    const int precision = format_.precision();
    ws.launch = [=, &ws](StreamHandle handle, bool upload) {
      cudaStream_t stream = handle;  // (StreamHandle is cudaStream_t)
      ws.staging.reserve(staged_bytes);
      if (upload) {
        copy_to_device(ws.staging.data(), ws.host_staging.data(), staged_bytes, handle);
        CG_CUDA(cudaEventRecord(ws.upload_done, stream));
      }
      Layout work;
      const size_t at_cdf = work.take<uint32_t>(counts + tables);
      ws.scratch.reserve(work.total());
      ws.status.reserve(std::max<size_t>(stream_count_total, 1) * 4);
      CG_CUDA(cudaMemsetAsync(ws.status.data(), 0, stream_count_total * 4, stream));
      void* dev = ws.staging.data();
      uint32_t* cdf = at<uint32_t>(ws.scratch.data(), at_cdf);
      if (tables > 0) {
        build_tables_kernel<<<unsigned((tables + 127) / 128), 128, 0, stream>>>(
            at<uint32_t>(dev, at_counts), at<uint64_t>(dev, at_offsets), at<uint8_t>(dev, at_all),
            int64_t(tables), precision, cdf);
        CG_CUDA_LAUNCHED("build_tables_kernel");
      }
      for (const LaunchGroup& g : groups) {
        dispatch_lpt(g.lpt, [&](auto lpt) {
          launch_decode<decltype(lpt)::value>(
              g, at<StreamInfo>(dev, at_streams), at<ChunkInfo>(dev, at_chunks),
              at<uint8_t>(dev, at_payload), cdf, at<float>(dev, at_scales), precision,
              static_cast<uint32_t*>(ws.status.data()), stream);
        });
      }
    };
  }

  void encode_launch(const DeviceKV& kv, const ChunkPosition& position, Workspace& ws,
                     StreamHandle handle) const override {
    cudaStream_t stream = handle;  // (StreamHandle is cudaStream_t)
    const CachegenPlan plan = format_.make_plan(kv.shape);
    const std::vector<int64_t> offsets = plan.count_offsets();
    const std::vector<CachegenStream> plan_streams = format_.streams(plan);
    const int64_t lk_count = plan.layers * 2, c_count = plan.channels;
    const size_t tables = size_t(plan.table_count()), counts = size_t(offsets.back());
    const int64_t anchor_rows = plan.planes == 2 ? plan.plane_rows(1) : 0;

    // Per-plane parameters and stream descriptors.
    std::vector<int32_t> max_levels(size_t(2 * lk_count)), alphabets(size_t(2 * lk_count));
    for (int p = 0; p < plan.planes; ++p) {
      for (int64_t lk = 0; lk < lk_count; ++lk) {
        max_levels[size_t(p * lk_count + lk)] = plan.bins_of(p, lk / 2, int(lk % 2)) / 2 - 1;
        alphabets[size_t(p * lk_count + lk)] = plan.alphabet(p, lk / 2, int(lk % 2));
      }
    }
    const uint64_t plane_symbols[2] = {uint64_t(lk_count * plan.plane_rows(0) * c_count),
                                       uint64_t(lk_count * anchor_rows * c_count)};
    std::vector<StreamInfo> streams;
    uint64_t capacity_total = 0;
    for (const CachegenStream& cs : plan_streams) {
      const int64_t table = plan.table_index(cs.plane, cs.layer, cs.kind, cs.first_channel);
      const int64_t lk = cs.layer * 2 + cs.kind;
      const int64_t rows = plan.plane_rows(cs.plane);
      StreamInfo s{};
      s.lanes = uint32_t(format_.lanes_for(cs.channels));
      s.capacity = uint64_t(2 * rows * cs.channels) + 4 * s.lanes;
      if (s.capacity > UINT32_MAX)
        fail("GPU encode: a stream of ", rows, " x ", cs.channels, " symbols is too large");
      s.bytes_offset = capacity_total;
      capacity_total += s.capacity;
      s.symbols_offset =
          (cs.plane == 1 ? plane_symbols[0] : 0) + uint64_t(lk * rows * c_count + cs.first_channel);
      s.row_stride = uint64_t(c_count);
      s.cdf_offset = uint64_t(offsets[size_t(table)] + table);
      s.rows = uint32_t(rows);
      s.columns = uint32_t(cs.channels);
      s.alphabet = plan.alphabet(cs.plane, cs.layer, cs.kind);
      s.plane = cs.plane;
      streams.push_back(s);
    }
    std::vector<size_t> order;
    const std::vector<LaunchGroup> groups = group_streams(streams, order, false);
    const size_t n = streams.size();

    size_t cub_bytes = 0;
    CG_CUDA(cub::DeviceScan::ExclusiveSum(nullptr, cub_bytes, static_cast<uint64_t*>(nullptr),
                                          static_cast<uint64_t*>(nullptr),
                                          int(std::max<size_t>(n, 1)), stream));
    // Uploads.
    const ProbabilityProfile* profile = format_.profile();
    Layout staged;
    const size_t at_levels = staged.take<int32_t>(max_levels.size());
    const size_t at_alphabets = staged.take<int32_t>(alphabets.size());
    const size_t at_offsets = staged.take<uint64_t>(tables + 1);
    const size_t at_all = staged.take<uint8_t>(tables);
    const size_t at_streams = staged.take<StreamInfo>(n);
    const size_t at_profile = staged.take<uint32_t>(profile ? counts : 0);
    CG_CUDA(cudaEventSynchronize(ws.upload_done));
    ws.host_staging.reserve(staged.total());
    uint8_t* host = ws.host_staging.data();
    std::copy(max_levels.begin(), max_levels.end(), at<int32_t>(host, at_levels));
    std::copy(alphabets.begin(), alphabets.end(), at<int32_t>(host, at_alphabets));
    std::copy(offsets.begin(), offsets.end(), at<uint64_t>(host, at_offsets));
    std::fill_n(at<uint8_t>(host, at_all), tables, profile ? 1 : 0);
    std::copy(streams.begin(), streams.end(), at<StreamInfo>(host, at_streams));
    if (profile) {
      const std::vector<uint32_t>& pc = format_.profile_counts(plan, offsets);
      std::copy(pc.begin(), pc.end(), at<uint32_t>(host, at_profile));
    }
    ws.staging.reserve(staged.total());
    CG_CUDA(cudaEventRecord(ws.timing_begin, stream));
    copy_to_device(ws.staging.data(), host, staged.total(), handle);
    CG_CUDA(cudaEventRecord(ws.upload_done, stream));
    void* dev = ws.staging.data();

    Layout work;
    const size_t at_symbols = work.take<uint8_t>(plane_symbols[0] + plane_symbols[1]);
    const size_t at_anchors = work.take<float>(size_t(lk_count * anchor_rows * c_count));
    const size_t at_scales = work.take<float>(size_t(lk_count * plan.tokens));
    const size_t at_counts = work.take<uint32_t>(counts);
    const size_t at_cdf = work.take<uint32_t>(counts + tables);
    const size_t at_stream_bytes = work.take<uint8_t>(capacity_total);
    const size_t at_sizes = work.take<uint64_t>(n);
    const size_t at_starts = work.take<uint64_t>(n);
    const size_t at_cub = work.take<uint8_t>(cub_bytes);
    const size_t at_payload = work.take<uint8_t>(capacity_total);
    const size_t at_bad = work.take<unsigned long long>(1);
    ws.scratch.reserve(work.total());
    void* scratch = ws.scratch.data();
    CG_CUDA(cudaMemsetAsync(at<uint8_t>(scratch, at_bad), 0xff, 8, stream));

    const float dtype_max = kv.dtype == DType::kF16 ? 65504.0f : FLT_MAX;
    for (int p = plan.planes - 1; p >= 0; --p) {  // anchors first: the deltas need them
      if (plan.plane_rows(p) == 0)
        continue;
      QuantizeJob job{};
      job.kv = kv.data;
      job.dtype = int(kv.dtype);
      job.layers = plan.layers;
      job.tokens = plan.tokens;
      job.channels = c_count;
      job.delta_group = plan.delta ? plan.delta_group : 0;
      job.plane = p;
      job.plane_rows = plan.plane_rows(p);
      job.max_levels = at<int32_t>(dev, at_levels) + p * lk_count;
      job.symbols = at<uint8_t>(scratch, at_symbols) + (p == 1 ? plane_symbols[0] : 0);
      job.scales = at<float>(scratch, at_scales);
      job.anchors = at<float>(scratch, at_anchors);
      job.anchor_rows = anchor_rows;
      job.dtype_max = dtype_max;
      job.bad_element = at<unsigned long long>(scratch, at_bad);
      const int64_t warps = lk_count * job.plane_rows;
      quantize_kernel<<<unsigned((warps + 7) / 8), 256, 0, stream>>>(job);
      CG_CUDA_LAUNCHED("quantize_kernel");
    }
    uint32_t* counts_dev =
        profile ? at<uint32_t>(dev, at_profile) : at<uint32_t>(scratch, at_counts);
    if (!profile) {
      CG_CUDA(cudaMemsetAsync(counts_dev, 0, counts * 4, stream));
      for (int p = 0; p < plan.planes; ++p) {
        if (plan.plane_rows(p) == 0)
          continue;
        const int64_t tiles = (c_count + 31) / 32;
        count_symbols_kernel<<<unsigned(lk_count * tiles), dim3(32, 8), 0, stream>>>(
            at<uint8_t>(scratch, at_symbols) + (p == 1 ? plane_symbols[0] : 0), plan.plane_rows(p),
            c_count, at<int32_t>(dev, at_alphabets) + p * lk_count, at<uint64_t>(dev, at_offsets),
            p * lk_count * c_count, counts_dev);
        CG_CUDA_LAUNCHED("count_symbols_kernel");
      }
    }
    uint32_t* cdf = at<uint32_t>(scratch, at_cdf);
    if (tables > 0) {
      build_tables_kernel<<<unsigned((tables + 127) / 128), 128, 0, stream>>>(
          counts_dev, at<uint64_t>(dev, at_offsets), at<uint8_t>(dev, at_all), int64_t(tables),
          format_.precision(), cdf);
      CG_CUDA_LAUNCHED("build_tables_kernel");
    }
    uint64_t* sizes = at<uint64_t>(scratch, at_sizes);
    uint64_t* starts = at<uint64_t>(scratch, at_starts);
    for (const LaunchGroup& g : groups) {
      dispatch_lpt(g.lpt, [&](auto lpt) {
        launch_encode<decltype(lpt)::value>(
            g, at<StreamInfo>(dev, at_streams), at<uint8_t>(scratch, at_symbols), cdf,
            format_.precision(), at<uint8_t>(scratch, at_stream_bytes), sizes, stream);
      });
    }
    if (n > 0) {
      CG_CUDA(cub::DeviceScan::ExclusiveSum(at<uint8_t>(scratch, at_cub), cub_bytes, sizes, starts,
                                            int(n), stream));
      compact_streams_kernel<<<unsigned(n), 256, 0, stream>>>(
          at<StreamInfo>(dev, at_streams), at<uint8_t>(scratch, at_stream_bytes), sizes, starts,
          at<uint8_t>(scratch, at_payload));
      CG_CUDA_LAUNCHED("compact_streams_kernel");
    }

    CG_CUDA(cudaEventRecord(ws.timing_end, stream));
    // Back to the host (ws.finish): the container is assembled there.
    const KVShape shape = kv.shape;
    const DType dtype = kv.dtype;
    ws.finish = [=, &ws](StreamHandle handle) -> std::vector<uint8_t> {
      unsigned long long bad = 0;
      std::vector<uint64_t> sorted_sizes(n);
      std::vector<float> scales(size_t(lk_count * plan.tokens));
      std::vector<uint32_t> host_counts(profile ? 0 : counts);
      copy_to_host(&bad, at<uint8_t>(scratch, at_bad), 8, handle);
      copy_to_host(sorted_sizes.data(), sizes, n * 8, handle);
      copy_to_host(scales.data(), at<float>(scratch, at_scales), scales.size() * 4, handle);
      copy_to_host(host_counts.data(), counts_dev, host_counts.size() * 4, handle);
      synchronize(handle);
      float device_ms = 0;
      CG_CUDA(cudaEventElapsedTime(&device_ms, ws.timing_begin, ws.timing_end));
      ws.encode_device_ms = device_ms;
      if (bad != ~0ull)
        fail_non_finite("GPU cachegen encode", bad, shape);
      uint64_t payload_size = 0;
      std::vector<uint64_t> lengths(n);
      for (size_t i = 0; i < n; ++i) {
        lengths[order[i]] = sorted_sizes[i];
        payload_size += sorted_sizes[i];
      }
      // The payload is in launch order; the container wants format order.
      std::vector<uint8_t> sorted_payload(payload_size);
      copy_to_host(sorted_payload.data(), at<uint8_t>(scratch, at_payload), payload_size, handle);
      synchronize(handle);
      std::vector<uint8_t> payload(payload_size);
      {
        std::vector<uint64_t> sorted_start(n + 1, 0), format_start(n + 1, 0);
        for (size_t i = 0; i < n; ++i)
          sorted_start[i + 1] = sorted_start[i] + sorted_sizes[i];
        for (size_t i = 0; i < n; ++i)
          format_start[i + 1] = format_start[i] + lengths[i];
        for (size_t i = 0; i < n; ++i) {
          std::copy_n(sorted_payload.begin() + ptrdiff_t(sorted_start[i]), sorted_sizes[i],
                      payload.begin() + ptrdiff_t(format_start[order[i]]));
        }
      }
      const std::vector<uint32_t>& final_counts =
          profile ? format_.profile_counts(plan, offsets) : host_counts;
      return format_.assemble(shape, dtype, position, plan, scales, offsets, final_counts, lengths,
                              std::move(payload));
    };
  }

 private:
  int threads_;
  CachegenFormat format_;
};

}  // namespace

CACHEGEN_REGISTER(gpu_codec_registry(),
                  {"cachegen", "cachegen (coder=rans) encode and decode on the GPU", {}},
                  [](const Options& options, const CodecContext& context) {
                    return std::make_unique<GpuCachegenCodec>(options, context);
                  });

}  // namespace cachegen::gpu
