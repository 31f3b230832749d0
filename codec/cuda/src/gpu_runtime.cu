// Device memory, workspaces, copies and the host conveniences of GpuCodec.
#include <algorithm>
#include <cstdio>

#include "cachegen/codec/container.h"
#include "cachegen/codec/cuda/gpu_codec.h"
#include "gpu_runtime.h"

namespace cachegen::gpu {

bool available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string device_description() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess)
    return str("no CUDA device (", cudaGetErrorString(status), ")");
  if (count == 0)
    return "no CUDA device";
  int device = 0;
  CG_CUDA(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  CG_CUDA(cudaGetDeviceProperties(&prop, device));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  char memory[32];
  std::snprintf(memory, sizeof(memory), "%.1f",
                static_cast<double>(prop.totalGlobalMem) / (1u << 30));
  return str(prop.name, " (", prop.multiProcessorCount, " SMs, ", memory, " GiB, compute ",
             prop.major, ".", prop.minor, ", runtime ", runtime / 1000, ".", runtime % 1000 / 10,
             ", driver ", driver / 1000, ".", driver % 1000 / 10, ")");
}

DeviceBuffer::~DeviceBuffer() {
  if (data_)
    cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(other.data_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.capacity_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_)
      cudaFree(data_);
    data_ = other.data_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.capacity_ = 0;
  }
  return *this;
}

void DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= capacity_)
    return;
  if (data_) {
    // Work still queued may use the old buffer: let it finish before freeing.
    CG_CUDA(cudaDeviceSynchronize());
    CG_CUDA(cudaFree(data_));
    data_ = nullptr;
    capacity_ = 0;
  }
  CG_CUDA(cudaMalloc(&data_, bytes));
  capacity_ = bytes;
}

PinnedBuffer::~PinnedBuffer() {
  if (data_)
    cudaFreeHost(data_);
}

void PinnedBuffer::reserve(size_t bytes) {
  if (bytes <= capacity_)
    return;
  if (data_) {
    CG_CUDA(cudaDeviceSynchronize());
    CG_CUDA(cudaFreeHost(data_));
    data_ = nullptr;
    capacity_ = 0;
  }
  void* p = nullptr;
  CG_CUDA(cudaMallocHost(&p, bytes));
  data_ = static_cast<uint8_t*>(p);
  capacity_ = bytes;
}

Workspace::Workspace() {
  CG_CUDA(cudaEventCreateWithFlags(&upload_done, cudaEventDisableTiming));
  CG_CUDA(cudaEventCreate(&timing_begin));
  CG_CUDA(cudaEventCreate(&timing_end));
}

Workspace::~Workspace() {
  for (cudaEvent_t event : {upload_done, timing_begin, timing_end}) {
    if (event)
      cudaEventDestroy(event);
  }
}

void GpuCodec::decode(const std::vector<ContainerSpan>& containers,
                      const std::vector<DeviceKV>& outputs, Workspace& ws,
                      StreamHandle stream) const {
  decode_prepare(containers, outputs, ws);
  ws.launch(stream, true);
}

void copy_to_device(void* device, const void* host, size_t bytes, StreamHandle stream) {
  if (bytes > 0)
    CG_CUDA(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream));
}

void copy_to_host(void* host, const void* device, size_t bytes, StreamHandle stream) {
  if (bytes > 0)
    CG_CUDA(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream));
}

void synchronize(StreamHandle stream) {
  CG_CUDA(cudaStreamSynchronize(stream));
}

void GpuCodec::check(Workspace& ws, StreamHandle stream) const {
  synchronize(stream);
  if (ws.status_words == 0)
    return;
  std::vector<uint32_t> status(ws.status_words);
  CG_CUDA(cudaMemcpy(status.data(), ws.status.data(), status.size() * 4, cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < status.size(); ++i) {
    if (status[i] != kStreamFine) {
      fail("GPU decode: entropy-coded stream ", i, " of the batch (container at byte offset ",
           ws.stream_file_offsets[i], ") ", decode_status_text(status[i]), " (corrupted)");
    }
  }
}

std::vector<uint8_t> GpuCodec::encode(const DeviceKV& kv, const ChunkPosition& position,
                                      Workspace& ws, StreamHandle stream) const {
  encode_launch(kv, position, ws, stream);
  return ws.finish(stream);
}

KVCache GpuCodec::decode_to_host(const uint8_t* data, size_t size, uint64_t file_offset) const {
  ContainerView view = ContainerView::parse(data, size, file_offset, "input", false);
  KVCache kv = KVCache::uninitialized(view.header().shape, view.header().dtype);
  DeviceBuffer out;
  out.reserve(std::max<size_t>(kv.byte_size(), 1));
  Workspace ws;
  decode({{data, size, file_offset}}, {{kv.shape(), kv.dtype(), out.data()}}, ws, nullptr);
  check(ws, nullptr);
  copy_to_host(kv.data(), out.data(), kv.byte_size(), nullptr);
  synchronize(nullptr);
  return kv;
}

std::vector<uint8_t> GpuCodec::encode_from_host(const KVCache& kv,
                                                const ChunkPosition& position) const {
  DeviceBuffer in;
  in.reserve(std::max<size_t>(kv.byte_size(), 1));
  copy_to_device(in.data(), kv.data(), kv.byte_size(), nullptr);
  Workspace ws;
  return encode({kv.shape(), kv.dtype(), in.data()}, position, ws, nullptr);
}

}  // namespace cachegen::gpu
