// The quant codec on the GPU (codec/src/quant_codec.cpp's format): absmax quantization per
// (layer, kind, token) row or per group of `group` channels, bit-packed LSB first.
#include <algorithm>

#include "bitpack_kernels.cuh"
#include "cachegen/codec/bitpack.h"
#include "cachegen/codec/cuda/device_math.h"
#include "cachegen/codec/cuda/gpu_codec.h"
#include "codec_common.h"
#include "gpu_container.h"
#include "gpu_runtime.h"

namespace cachegen::gpu {

namespace {

constexpr uint32_t kScales = section_tag("SCAL");
constexpr uint32_t kPacked = section_tag("PACK");

struct QuantJob {
  void* kv;
  int dtype;
  int64_t rows, channels, group_width, groups_per_row;
  int bits, max_level;
  float* scales;     // [rows, groups_per_row]
  uint8_t* symbols;  // [rows, channels] (encode)
  uint8_t* packed;
  uint64_t packed_size;
  unsigned long long* bad_element;
};

// One warp per (row, group): absmax, then the symbols.
__global__ void quant_encode_kernel(QuantJob job) {
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= job.rows * job.groups_per_row)
    return;
  const int64_t row = warp / job.groups_per_row, g = warp % job.groups_per_row;
  const int64_t begin = g * job.group_width;
  const int64_t end = min(begin + job.group_width, job.channels);
  const uint64_t base = uint64_t(row) * job.channels;
  float m = 0;
  for (int64_t i = begin + lane; i < end; i += 32) {
    const float v = load_element(job.kv, base + i, job.dtype);
    if (!isfinite(v))
      atomicMin(job.bad_element, (unsigned long long)(base + i));
    m = fmaxf(m, fabsf(v));
  }
  for (int offset = 16; offset > 0; offset >>= 1)
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, offset));
  for (int64_t i = begin + lane; i < end; i += 32)
    job.symbols[base + i] =
        quantize_value(load_element(job.kv, base + i, job.dtype), m, job.max_level);
  if (lane == 0)
    job.scales[row * job.groups_per_row + g] = m;
}

// One thread per element: unpack, dequantize, store in dtype.
__global__ void quant_decode_kernel(QuantJob job) {
  const uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x;
  const uint64_t count = uint64_t(job.rows) * job.channels;
  if (i >= count)
    return;
  const int symbol = unpack_symbol(job.packed, job.packed_size, i, job.bits);
  const uint64_t row = i / job.channels, channel = i % job.channels;
  const float scale = job.scales[row * job.groups_per_row + channel / job.group_width];
  store_element(job.kv, i, job.dtype, dequantize_value(symbol, job.max_level, scale));
}

class GpuQuantCodec : public GpuCodec {
 public:
  explicit GpuQuantCodec(const Options& options)
      : bits_(int(options.integer("bits"))), group_(options.integer("group")) {}

  std::string name() const override { return "quant"; }
  std::string params() const override { return str("bits=", bits_, ";group=", group_); }

  QuantJob job_for(const KVShape& s, DType dtype, void* kv) const {
    QuantJob job{};
    job.kv = kv;
    job.dtype = int(dtype);
    job.rows = s.layers * 2 * s.tokens;
    job.channels = s.channels();
    job.group_width = group_ == 0 ? std::max<int64_t>(job.channels, 1) : group_;
    job.groups_per_row =
        job.channels == 0 ? 0 : (job.channels + job.group_width - 1) / job.group_width;
    job.bits = bits_;
    job.max_level = (1 << (bits_ - 1)) - 1;
    job.packed_size = uint64_t(packed_size(job.rows * job.channels, bits_));
    return job;
  }

  void decode_prepare(const std::vector<ContainerSpan>& containers,
                      const std::vector<DeviceKV>& outputs, Workspace& ws) const override {
    if (containers.size() != outputs.size())
      fail("GPU decode: ", containers.size(), " containers but ", outputs.size(), " outputs");
    std::vector<ContainerView> views;
    std::vector<std::vector<float>> scales;
    Layout staged;
    std::vector<size_t> at_scales, at_packed;
    for (size_t j = 0; j < containers.size(); ++j) {
      const ContainerSpan& span = containers[j];
      ContainerView view = ContainerView::parse(span.data, span.size, span.file_offset, "input");
      const ContainerHeader& h = view.header();
      if (h.codec != "quant" || h.params != params()) {
        fail("container at byte offset ", span.file_offset, " holds codec '", h.codec, "' with '",
             h.params, "', not 'quant' with '", params(), "'");
      }
      check_shape_limits(view);
      if (outputs[j].shape != h.shape || outputs[j].dtype != h.dtype) {
        fail("GPU decode: output ", j, " is ", outputs[j].shape.to_string(), " ",
             dtype_name(outputs[j].dtype), " but the container at byte offset ", span.file_offset,
             " holds ", h.shape.to_string(), " ", dtype_name(h.dtype));
      }
      const QuantJob job = job_for(h.shape, h.dtype, nullptr);
      scales.push_back(decode_values(view, kScales, job.rows * job.groups_per_row, h.dtype));
      if (view.section_size(kPacked) != job.packed_size) {
        fail("container at byte offset ", span.file_offset, ": section 'PACK' holds ",
             view.section_size(kPacked), " bytes, expected ", job.packed_size);
      }
      at_scales.push_back(staged.take<float>(scales.back().size()));
      at_packed.push_back(staged.take<uint8_t>(job.packed_size));
      views.push_back(std::move(view));
    }
    CG_CUDA(cudaEventSynchronize(ws.upload_done));
    ws.host_staging.reserve(staged.total());
    uint8_t* host = ws.host_staging.data();
    for (size_t j = 0; j < views.size(); ++j) {
      std::copy(scales[j].begin(), scales[j].end(), at<float>(host, at_scales[j]));
      std::copy_n(views[j].section_data(kPacked), views[j].section_size(kPacked),
                  at<uint8_t>(host, at_packed[j]));
    }
    std::vector<QuantJob> jobs;
    for (size_t j = 0; j < views.size(); ++j) {
      QuantJob job = job_for(views[j].header().shape, views[j].header().dtype, outputs[j].data);
      job.scales = nullptr;
      job.packed = nullptr;
      jobs.push_back(job);
    }
    const size_t staged_bytes = staged.total();
    ws.status_words = 0;  // nothing for check() to report: sizes were checked on the host
    ws.launch = [=, &ws](StreamHandle stream, bool upload) {
      ws.staging.reserve(staged_bytes);
      if (upload) {
        copy_to_device(ws.staging.data(), ws.host_staging.data(), staged_bytes, stream);
        CG_CUDA(cudaEventRecord(ws.upload_done, stream));
      }
      for (size_t j = 0; j < jobs.size(); ++j) {
        QuantJob job = jobs[j];
        job.scales = at<float>(ws.staging.data(), at_scales[j]);
        job.packed = at<uint8_t>(ws.staging.data(), at_packed[j]);
        const uint64_t count = uint64_t(job.rows) * job.channels;
        if (count == 0)
          continue;
        quant_decode_kernel<<<unsigned((count + 255) / 256), 256, 0, stream>>>(job);
        CG_CUDA_LAUNCHED("quant_decode_kernel");
      }
    };
  }

  void encode_launch(const DeviceKV& kv, const ChunkPosition& position, Workspace& ws,
                     StreamHandle stream) const override {
    QuantJob job = job_for(kv.shape, kv.dtype, kv.data);
    const uint64_t count = uint64_t(job.rows) * job.channels;
    Layout work;
    const size_t at_scales = work.take<float>(size_t(job.rows * job.groups_per_row));
    const size_t at_symbols = work.take<uint8_t>(count);
    const size_t at_packed = work.take<uint8_t>(job.packed_size);
    const size_t at_bad = work.take<unsigned long long>(1);
    ws.scratch.reserve(work.total());
    void* scratch = ws.scratch.data();
    job.scales = at<float>(scratch, at_scales);
    job.symbols = at<uint8_t>(scratch, at_symbols);
    job.packed = at<uint8_t>(scratch, at_packed);
    job.bad_element = at<unsigned long long>(scratch, at_bad);
    CG_CUDA(cudaEventRecord(ws.timing_begin, stream));
    CG_CUDA(cudaMemsetAsync(job.bad_element, 0xff, 8, stream));
    const int64_t warps = job.rows * job.groups_per_row;
    if (warps > 0) {
      quant_encode_kernel<<<unsigned((warps + 7) / 8), 256, 0, stream>>>(job);
      CG_CUDA_LAUNCHED("quant_encode_kernel");
    }
    launch_pack_bits(job.symbols, count, bits_, job.packed, job.packed_size, stream);
    CG_CUDA(cudaEventRecord(ws.timing_end, stream));
    const KVShape shape = kv.shape;
    const DType dtype = kv.dtype;
    ws.finish = [=, &ws](StreamHandle finish_stream) -> std::vector<uint8_t> {
      StreamHandle stream = finish_stream;  // (may differ from the launch's)
      unsigned long long bad = 0;
      std::vector<float> scales(size_t(job.rows * job.groups_per_row));
      std::vector<uint8_t> packed(job.packed_size);
      copy_to_host(&bad, job.bad_element, 8, stream);
      copy_to_host(scales.data(), job.scales, scales.size() * 4, stream);
      copy_to_host(packed.data(), job.packed, packed.size(), stream);
      synchronize(stream);
      float device_ms = 0;
      CG_CUDA(cudaEventElapsedTime(&device_ms, ws.timing_begin, ws.timing_end));
      ws.encode_device_ms = device_ms;
      if (bad != ~0ull)
        fail_non_finite("GPU quant encode", bad, shape);
      ContainerWriter writer(make_header(name(), params(), shape, dtype, position));
      writer.add_section(kScales, encode_values(scales, dtype));
      writer.add_section(kPacked, std::move(packed));
      return writer.finish();
    };
  }

 private:
  int bits_;
  int64_t group_;
};

}  // namespace

CACHEGEN_REGISTER(gpu_codec_registry(), {"quant", "quant encode and decode on the GPU", {}},
                  [](const Options& options, const CodecContext&) {
                    return std::make_unique<GpuQuantCodec>(options);
                  });

}  // namespace cachegen::gpu
