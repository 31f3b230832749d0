// The kivi codec on the GPU (codec/src/kivi_codec.cpp's format): keys quantized per channel over
// groups of `group` tokens, values per token over groups of `group` channels, each group with
// its minimum and step in the input dtype; the last tokens (at least `residual`, and those that
// do not fill a key group) stay raw. q = clamp(rne((x - min) / step)), x_hat = q * step + min.
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

constexpr uint32_t kMins = section_tag("MINS");
constexpr uint32_t kSteps = section_tag("STEP");
constexpr uint32_t kPacked = section_tag("PACK");
constexpr uint32_t kResidual = section_tag("RESI");

// Shapes of one chunk's groups (kivi_codec.cpp's Layout).
struct KiviJob {
  void* kv;  // [L, 2, T, C] of dtype
  int dtype, bits;
  int64_t layers, tokens, channels, group;
  int64_t quantized;       // tokens [0, quantized) are quantized
  int64_t key_groups;      // per key plane: quantized / group x C
  int64_t value_groups;    // per value plane: quantized x channel_groups
  int64_t channel_groups;  // ceil(C / group)
  float* mins;             // per group
  float* steps;
  uint8_t* symbols;  // [L, 2, quantized, C] (encode)
  const uint8_t* packed;
  uint64_t packed_size;
  unsigned long long* bad_element;

  __host__ __device__ int64_t groups_per_layer() const { return key_groups + value_groups; }
  __host__ __device__ int64_t element(int64_t plane, int64_t token, int64_t channel) const {
    return (plane * tokens + token) * channels + channel;
  }
};

__global__ void find_nonfinite_kernel(const void* kv, int dtype, uint64_t count,
                                      unsigned long long* bad_element) {
  const uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x;
  if (i < count && !isfinite(load_element(kv, int64_t(i), dtype)))
    atomicMin(bad_element, (unsigned long long)i);
}

// One thread per group: its range, then its symbols. std::min / std::max order, so that a
// signed zero comes out as on the CPU.
__global__ void kivi_encode_kernel(KiviJob job) {
  const int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (g >= job.layers * job.groups_per_layer())
    return;
  const int64_t layer = g / job.groups_per_layer();
  int64_t rem = g % job.groups_per_layer();
  int64_t plane, first_token, first_channel, count, token_step, channel_step;
  if (rem < job.key_groups) {  // one channel over `group` tokens
    plane = layer * 2;
    first_token = rem / job.channels * job.group;
    first_channel = rem % job.channels;
    count = job.group;
    token_step = 1;
    channel_step = 0;
  } else {  // one token over up to `group` channels
    rem -= job.key_groups;
    plane = layer * 2 + 1;
    first_token = rem / job.channel_groups;
    first_channel = rem % job.channel_groups * job.group;
    count = min(job.group, job.channels - first_channel);
    token_step = 0;
    channel_step = 1;
  }
  auto at = [&](int64_t i) {
    return job.element(plane, first_token + i * token_step, first_channel + i * channel_step);
  };
  float lo = load_element(job.kv, at(0), job.dtype), hi = lo;
  for (int64_t i = 0; i < count; ++i) {
    const float v = load_element(job.kv, at(i), job.dtype);
    lo = v < lo ? v : lo;
    hi = hi < v ? v : hi;
  }
  const int top = (1 << job.bits) - 1;
  const float step = round_to_element((hi - lo) / float(top), job.dtype);
  job.mins[g] = lo;
  job.steps[g] = step;
  const float magic = 12582912.0f;  // round half to even, as quantize.h
  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = first_token + i * token_step, ch = first_channel + i * channel_step;
    float level =
        step > 0 ? ((load_element(job.kv, at(i), job.dtype) - lo) / step + magic) - magic : 0.0f;
    level = level < 0.0f ? 0.0f : level;
    level = level > float(top) ? float(top) : level;
    job.symbols[(plane * job.quantized + t) * job.channels + ch] = uint8_t(level);
  }
}

// One thread per quantized element.
__global__ void kivi_decode_kernel(KiviJob job) {
  const uint64_t i = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x;
  const uint64_t per_plane = uint64_t(job.quantized) * job.channels;
  if (i >= uint64_t(job.layers) * 2 * per_plane)
    return;
  const int64_t plane = int64_t(i / per_plane);
  const int64_t t = int64_t(i % per_plane) / job.channels, ch = int64_t(i % job.channels);
  const int64_t base = plane / 2 * job.groups_per_layer() + (plane % 2 == 0 ? 0 : job.key_groups);
  const int64_t g = plane % 2 == 0 ? base + t / job.group * job.channels + ch
                                   : base + t * job.channel_groups + ch / job.group;
  const int symbol = unpack_symbol(job.packed, job.packed_size, i, job.bits);
  store_element(job.kv, job.element(plane, t, ch), job.dtype,
                float(symbol) * job.steps[g] + job.mins[g]);
}

class GpuKiviCodec : public GpuCodec {
 public:
  explicit GpuKiviCodec(const Options& options)
      : bits_(options.text("bits")[0] - '0'),
        group_(options.integer("group")),
        residual_(options.integer("residual")) {}

  std::string name() const override { return "kivi"; }
  std::string params() const override {
    return str("bits=", bits_, ";group=", group_, ";residual=", residual_);
  }

  KiviJob job_for(const KVShape& s, DType dtype, void* kv) const {
    KiviJob job{};
    job.kv = kv;
    job.dtype = int(dtype);
    job.bits = bits_;
    job.layers = s.layers;
    job.tokens = s.tokens;
    job.channels = s.channels();
    job.group = group_;
    job.quantized = std::max<int64_t>(0, s.tokens - residual_) / group_ * group_;
    job.channel_groups = (job.channels + group_ - 1) / group_;
    job.key_groups = job.quantized / group_ * job.channels;
    job.value_groups = job.quantized * job.channel_groups;
    job.packed_size = uint64_t(packed_size(s.layers * 2 * job.quantized * job.channels, bits_));
    return job;
  }

  // Copies the raw tail tokens [quantized, T) of every plane between a [L, 2, T, C] cache and a
  // [L, 2, T - quantized, C] buffer.
  static void copy_residual(const KiviJob& job, void* dst, size_t dst_pitch, const void* src,
                            size_t src_pitch, cudaMemcpyKind kind, cudaStream_t stream) {
    const size_t width = size_t(job.tokens - job.quantized) * job.channels * dtype_bytes(job);
    if (width == 0 || job.layers == 0)
      return;
    CG_CUDA(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, size_t(job.layers) * 2, kind,
                              stream));
  }
  static size_t dtype_bytes(const KiviJob& job) { return job.dtype == kGpuF32 ? 4 : 2; }

  void decode_prepare(const std::vector<ContainerSpan>& containers,
                      const std::vector<DeviceKV>& outputs, Workspace& ws) const override {
    if (containers.size() != outputs.size())
      fail("GPU decode: ", containers.size(), " containers but ", outputs.size(), " outputs");
    struct Staged {
      KiviJob job;
      size_t at_mins, at_steps, at_packed, at_residual;
    };
    std::vector<Staged> staged_jobs;
    std::vector<ContainerView> views;
    std::vector<std::vector<float>> mins, steps;
    Layout staged;
    for (size_t j = 0; j < containers.size(); ++j) {
      const ContainerSpan& span = containers[j];
      ContainerView view = ContainerView::parse(span.data, span.size, span.file_offset, "input");
      const ContainerHeader& h = view.header();
      if (h.codec != name() || h.params != params()) {
        fail("container at byte offset ", span.file_offset, " holds codec '", h.codec, "' with '",
             h.params, "', not '", name(), "' with '", params(), "'");
      }
      check_shape_limits(view);
      if (outputs[j].shape != h.shape || outputs[j].dtype != h.dtype) {
        fail("GPU decode: output ", j, " is ", outputs[j].shape.to_string(), " ",
             dtype_name(outputs[j].dtype), " but the container at byte offset ", span.file_offset,
             " holds ", h.shape.to_string(), " ", dtype_name(h.dtype));
      }
      Staged st{job_for(h.shape, h.dtype, outputs[j].data), 0, 0, 0, 0};
      const int64_t groups = st.job.layers * st.job.groups_per_layer();
      mins.push_back(decode_values(view, kMins, groups, h.dtype));
      steps.push_back(decode_values(view, kSteps, groups, h.dtype));
      const uint64_t residual_bytes = uint64_t(h.shape.layers) * 2 *
                                      uint64_t(h.shape.tokens - st.job.quantized) *
                                      uint64_t(st.job.channels) * dtype_bytes(st.job);
      if (view.section_size(kPacked) != st.job.packed_size) {
        fail("container at byte offset ", span.file_offset, ": section 'PACK' has the wrong size");
      }
      if (view.section_size(kResidual) != residual_bytes) {
        fail("container at byte offset ", span.file_offset, ": section 'RESI' has the wrong size");
      }
      st.at_mins = staged.take<float>(size_t(groups));
      st.at_steps = staged.take<float>(size_t(groups));
      st.at_packed = staged.take<uint8_t>(st.job.packed_size);
      st.at_residual = staged.take<uint8_t>(residual_bytes);
      staged_jobs.push_back(st);
      views.push_back(std::move(view));
    }
    CG_CUDA(cudaEventSynchronize(ws.upload_done));
    ws.host_staging.reserve(staged.total());
    uint8_t* host = ws.host_staging.data();
    for (size_t j = 0; j < views.size(); ++j) {
      const Staged& st = staged_jobs[j];
      std::copy(mins[j].begin(), mins[j].end(), at<float>(host, st.at_mins));
      std::copy(steps[j].begin(), steps[j].end(), at<float>(host, st.at_steps));
      std::copy_n(views[j].section_data(kPacked), views[j].section_size(kPacked),
                  at<uint8_t>(host, st.at_packed));
      std::copy_n(views[j].section_data(kResidual), views[j].section_size(kResidual),
                  at<uint8_t>(host, st.at_residual));
    }
    const size_t staged_bytes = staged.total();
    ws.status_words = 0;  // sizes were checked on the host: nothing for check() to report
    ws.launch = [=, &ws](StreamHandle stream, bool upload) {
      ws.staging.reserve(staged_bytes);
      if (upload) {
        copy_to_device(ws.staging.data(), ws.host_staging.data(), staged_bytes, stream);
        CG_CUDA(cudaEventRecord(ws.upload_done, stream));
      }
      for (const Staged& st : staged_jobs) {
        KiviJob job = st.job;
        job.mins = at<float>(ws.staging.data(), st.at_mins);
        job.steps = at<float>(ws.staging.data(), st.at_steps);
        job.packed = at<uint8_t>(ws.staging.data(), st.at_packed);
        const uint64_t count = uint64_t(job.layers) * 2 * job.quantized * job.channels;
        if (count > 0) {
          kivi_decode_kernel<<<unsigned((count + 255) / 256), 256, 0, stream>>>(job);
          CG_CUDA_LAUNCHED("kivi_decode_kernel");
        }
        const size_t row = size_t(job.channels) * dtype_bytes(job);
        copy_residual(job, static_cast<uint8_t*>(job.kv) + size_t(job.quantized) * row,
                      size_t(job.tokens) * row, at<uint8_t>(ws.staging.data(), st.at_residual),
                      size_t(job.tokens - job.quantized) * row, cudaMemcpyDeviceToDevice, stream);
      }
    };
  }

  void encode_launch(const DeviceKV& kv, const ChunkPosition& position, Workspace& ws,
                     StreamHandle stream) const override {
    KiviJob job = job_for(kv.shape, kv.dtype, kv.data);
    const int64_t groups = job.layers * job.groups_per_layer();
    const uint64_t symbols = uint64_t(job.layers) * 2 * job.quantized * job.channels;
    Layout work;
    const size_t at_mins = work.take<float>(size_t(groups));
    const size_t at_steps = work.take<float>(size_t(groups));
    const size_t at_symbols = work.take<uint8_t>(symbols);
    const size_t at_packed = work.take<uint8_t>(job.packed_size);
    const size_t at_bad = work.take<unsigned long long>(1);
    ws.scratch.reserve(work.total());
    void* scratch = ws.scratch.data();
    job.mins = at<float>(scratch, at_mins);
    job.steps = at<float>(scratch, at_steps);
    job.symbols = at<uint8_t>(scratch, at_symbols);
    uint8_t* packed = at<uint8_t>(scratch, at_packed);
    job.bad_element = at<unsigned long long>(scratch, at_bad);
    CG_CUDA(cudaEventRecord(ws.timing_begin, stream));
    CG_CUDA(cudaMemsetAsync(job.bad_element, 0xff, 8, stream));
    const uint64_t elements = uint64_t(kv.shape.elements());
    if (elements > 0) {
      find_nonfinite_kernel<<<unsigned((elements + 255) / 256), 256, 0, stream>>>(
          kv.data, job.dtype, elements, job.bad_element);
      CG_CUDA_LAUNCHED("find_nonfinite_kernel");
    }
    if (groups > 0) {
      kivi_encode_kernel<<<unsigned((groups + 127) / 128), 128, 0, stream>>>(job);
      CG_CUDA_LAUNCHED("kivi_encode_kernel");
    }
    launch_pack_bits(job.symbols, symbols, bits_, packed, job.packed_size, stream);
    CG_CUDA(cudaEventRecord(ws.timing_end, stream));
    const KVShape shape = kv.shape;
    const DType dtype = kv.dtype;
    ws.finish = [=, &ws](StreamHandle finish_stream) -> std::vector<uint8_t> {
      unsigned long long bad = 0;
      std::vector<float> mins(static_cast<size_t>(groups)), steps(static_cast<size_t>(groups));
      std::vector<uint8_t> packed_host(job.packed_size);
      const size_t row = size_t(job.channels) * dtype_bytes(job);
      const size_t residual_rows = size_t(job.tokens - job.quantized);
      std::vector<uint8_t> residual(size_t(job.layers) * 2 * residual_rows * row);
      copy_to_host(&bad, job.bad_element, 8, finish_stream);
      copy_to_host(mins.data(), job.mins, mins.size() * 4, finish_stream);
      copy_to_host(steps.data(), job.steps, steps.size() * 4, finish_stream);
      copy_to_host(packed_host.data(), packed, packed_host.size(), finish_stream);
      copy_residual(job, residual.data(), residual_rows * row,
                    static_cast<const uint8_t*>(job.kv) + size_t(job.quantized) * row,
                    size_t(job.tokens) * row, cudaMemcpyDeviceToHost, finish_stream);
      synchronize(finish_stream);
      float device_ms = 0;
      CG_CUDA(cudaEventElapsedTime(&device_ms, ws.timing_begin, ws.timing_end));
      ws.encode_device_ms = device_ms;
      if (bad != ~0ull)
        fail_non_finite("GPU kivi encode", bad, shape);
      ContainerWriter writer(make_header(name(), params(), shape, dtype, position));
      writer.add_section(kMins, encode_values(mins, dtype));
      writer.add_section(kSteps, encode_values(steps, dtype));
      writer.add_section(kPacked, std::move(packed_host));
      writer.add_section(kResidual, std::move(residual));
      return writer.finish();
    };
  }

 private:
  int bits_;
  int64_t group_;
  int64_t residual_;
};

}  // namespace

CACHEGEN_REGISTER(gpu_codec_registry(), {"kivi", "KIVI encode and decode on the GPU", {}},
                  [](const Options& options, const CodecContext&) {
                    return std::make_unique<GpuKiviCodec>(options);
                  });

}  // namespace cachegen::gpu
