// GPU encode and decode for the `cachegen`, `quant` and `kivi` codecs (CUDA), bit-exact with the
// CPU codecs: a GPU-encoded chunk is the very container the CPU codec writes, and decodes on either
// side to identical KV.
//
// The host parses and checks containers (header, checksums, tables, stream lengths: small), the
// device does the per-element work: quantization, symbol counting, table building, rANS coding
// (one warp per stream, the stream's lanes in lock-step) and dequantization straight into core's
// KV layout in f16, bf16 or f32. Kernels run on the caller's stream in the caller's workspace;
// decode enqueues everything without waiting for the device.
//
// This header needs no CUDA headers: a stream is passed as its handle (cudaStream_t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/codec/registry.h"
#include "cachegen/core/codec.h"

struct CUstream_st;
struct CUevent_st;

namespace cachegen::gpu {

using StreamHandle = CUstream_st*;  // a cudaStream_t; nullptr is the legacy default stream

// Whether a CUDA device is present and usable by this build.
bool available();
// "NVIDIA H200 (132 SMs, 139.8 GiB, compute 9.0)", or why there is none.
std::string device_description();

// Device memory that grows on demand and is reused across calls (contents are not kept when it
// grows).
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reserve(size_t bytes);
  void* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

// Pinned host memory, so that uploads from it do not wait for the device.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void reserve(size_t bytes);
  uint8_t* data() const { return data_; }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
};

// KV in core's layout on the device: [layers, 2, tokens, channels] elements of dtype.
struct DeviceKV {
  KVShape shape;
  DType dtype = DType::kF16;
  void* data = nullptr;
};

// One container in host memory, as given to decode.
struct ContainerSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t file_offset = 0;  // its offset in its file (for messages)
};

// The memory one stream of GPU codec work uses: keep one per stream in flight and reuse it.
// Its buffers grow on first use (or for a larger batch), and growing waits for the device
// (the old buffer may still be in use); a warmed-up workspace never waits, except for its own
// previous upload before refilling host_staging.
class Workspace {
 public:
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  PinnedBuffer host_staging;  // what decode uploads: descriptors, tables, scales, payload
  DeviceBuffer staging;       // its device copy
  DeviceBuffer scratch;       // intermediates (tables, symbols, stream bytes)
  DeviceBuffer status;        // error words the kernels write
  // Set after the last upload from host_staging: the next call waits for it before writing
  // host_staging again (only if the device has not got that far yet).
  CUevent_st* upload_done = nullptr;
  // What the last decode enqueued, for check(): per stream, the container it came from.
  std::vector<uint64_t> stream_file_offsets;
  size_t status_words = 0;
  // The device half of the last decode_prepare(): uploads host_staging (if `upload`) and runs
  // the kernels on the stream. Replaying it without the upload decodes the same data again.
  std::function<void(StreamHandle stream, bool upload)> launch;
  // The host half of the last encode_launch(): waits for the stream, downloads, assembles.
  std::function<std::vector<uint8_t>(StreamHandle stream)> finish;
  // Device time of the last encode's kernels, upload to last kernel (milliseconds).
  double encode_device_ms = 0;
  CUevent_st* timing_begin = nullptr;
  CUevent_st* timing_end = nullptr;
};

class GpuCodec {
 public:
  // A GPU codec of gpu_codec_registry() ("cachegen" with coder=rans, "quant", "kivi"), with
  // the CPU codec's options; an unknown name fails listing the GPU codecs.
  static std::unique_ptr<GpuCodec> create(const std::string& name, const Options& options,
                                          const CodecContext& context = {});
  virtual ~GpuCodec() = default;
  virtual std::string name() const = 0;
  virtual std::string params() const = 0;  // as the CPU codec's params()

  // Enqueues on `stream` the decode of containers[i] into outputs[i] (device memory of the
  // container's shape and dtype; checked). Host work: parsing and checking the containers and
  // copying them into ws.host_staging; no wait for the device. Corrupt entropy-coded streams are
  // found on the device: check() reports them.
  void decode(const std::vector<ContainerSpan>& containers, const std::vector<DeviceKV>& outputs,
              Workspace& ws, StreamHandle stream) const;
  // decode() in its two halves: the host half (parse, check, stage into ws.host_staging) and
  // the device half (ws.launch), for callers that overlap them or time the device alone.
  virtual void decode_prepare(const std::vector<ContainerSpan>& containers,
                              const std::vector<DeviceKV>& outputs, Workspace& ws) const = 0;
  // Waits for `stream` and throws, naming the container's byte offset, if the last decode in
  // `ws` found a corrupt stream.
  void check(Workspace& ws, StreamHandle stream) const;

  // Encodes one chunk held on the device. Kernels run on `stream`; the container is assembled on
  // the host at the end (this waits for the stream: the bytes come back to the host).
  std::vector<uint8_t> encode(const DeviceKV& kv, const ChunkPosition& position, Workspace& ws,
                              StreamHandle stream) const;
  // encode() in its two halves: the device half (kernels, no wait) and ws.finish (waits for the
  // stream, downloads the payload, assembles the container). Chunks launched on different
  // streams, each with its own workspace, encode concurrently. `kv` must stay valid until
  // ws.finish has returned.
  virtual void encode_launch(const DeviceKV& kv, const ChunkPosition& position, Workspace& ws,
                             StreamHandle stream) const = 0;

  // Host conveniences: upload, run on the default stream, wait, download.
  KVCache decode_to_host(const uint8_t* data, size_t size, uint64_t file_offset = 0) const;
  std::vector<uint8_t> encode_from_host(const KVCache& kv,
                                        const ChunkPosition& position = {}) const;
};

// Host <-> device copies on `stream` (asynchronous for pinned host memory).
void copy_to_device(void* device, const void* host, size_t bytes, StreamHandle stream);
void copy_to_host(void* host, const void* device, size_t bytes, StreamHandle stream);
void synchronize(StreamHandle stream);

// The GPU codecs: each file in codec/cuda/src registers itself under its CPU codec's name and
// takes that codec's options.
using GpuCodecRegistry = Registry<GpuCodec, const CodecContext&>;
GpuCodecRegistry& gpu_codec_registry();

}  // namespace cachegen::gpu
