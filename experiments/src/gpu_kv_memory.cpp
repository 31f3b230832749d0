#include "gpu_kv_memory.h"

#include <cstdio>
#include <cstring>

#include "cachegen/core/error.h"

#if CACHEGEN_HAVE_CUDA
#include <map>

#include "cachegen/codec/cuda/gpu_codec.h"
#endif

namespace cachegen {

#if CACHEGEN_HAVE_CUDA
namespace {
class GpuKVMemory : public KVMemory {
 public:
  std::string description() const override {
    std::string text = gpu::device_description() + ", CUDA codecs";
    for (const auto& [key, codec] : codecs_) {
      if (!codec)
        text += "; " + key + " decoded on the CPU and uploaded";
    }
    return text;
  }

  ResidentKV allocate(const KVShape& shape, DType dtype) override {
    if (used_ == buffers_.size())
      buffers_.push_back(std::make_unique<gpu::DeviceBuffer>());
    gpu::DeviceBuffer& buffer = *buffers_[used_++];
    buffer.reserve(static_cast<size_t>(shape.elements()) * dtype_size(dtype));
    return {shape, dtype, buffer.data()};
  }

  // Buffers are kept for the next request (allocate() reuses them in order).
  void release() override { used_ = 0; }

  void decode(const ChunkStore& store, int64_t chunk, int encoding,
              const ResidentKV& dst) override {
    const StoredChunk& c = store.chunks().at(static_cast<size_t>(chunk));
    const std::vector<uint8_t>& bits = c.bitstreams.at(static_cast<size_t>(encoding));
    const gpu::GpuCodec* codec = codec_for(*store.encodings()[static_cast<size_t>(encoding)].codec);
    if (codec) {
      // Host: parse, check, stage; device: upload and decode into dst; check() waits.
      codec->decode({gpu::ContainerSpan{bits.data(), bits.size(), 0}},
                    {gpu::DeviceKV{dst.shape, dst.dtype, dst.data}}, workspace_, nullptr);
      codec->check(workspace_, nullptr);
      return;
    }
    KVCache kv = store.decode(chunk, encoding).converted(dst.dtype);
    if (kv.shape() != dst.shape)
      fail("chunk ", chunk, " decodes to ", kv.shape().to_string(), ", not ",
           dst.shape.to_string());
    upload_.reserve(kv.byte_size());
    std::memcpy(upload_.data(), kv.data(), kv.byte_size());
    gpu::copy_to_device(dst.data, upload_.data(), kv.byte_size(), nullptr);
    gpu::synchronize(nullptr);
  }

  KVCache download(const ResidentKV& kv) const override {
    KVCache out = KVCache::uninitialized(kv.shape, kv.dtype);
    gpu::copy_to_host(out.data(), kv.data, out.byte_size(), nullptr);
    gpu::synchronize(nullptr);
    return out;
  }

 private:
  // The CUDA codec of a CPU codec's name and params, or nullptr when there is none.
  const gpu::GpuCodec* codec_for(const Codec& cpu) {
    const std::string key = cpu.name() + ":" + cpu.params();
    auto it = codecs_.find(key);
    if (it == codecs_.end()) {
      std::unique_ptr<gpu::GpuCodec> codec;
      if (gpu::gpu_codec_registry().contains(cpu.name())) {
        try {
          codec = gpu::GpuCodec::create(cpu.name(), Options::parse(cpu.params(), key));
        } catch (const Error&) {
          codec = nullptr;  // options the CUDA codec does not take (e.g. coder=ac)
        }
      }
      it = codecs_.emplace(key, std::move(codec)).first;
    }
    return it->second.get();
  }

  std::map<std::string, std::unique_ptr<gpu::GpuCodec>> codecs_;
  gpu::Workspace workspace_;
  std::vector<std::unique_ptr<gpu::DeviceBuffer>> buffers_;
  size_t used_ = 0;
  gpu::PinnedBuffer upload_;
};
}  // namespace

bool gpu_kv_memory_available(std::string* why) {
  if (gpu::available())
    return true;
  *why = "no usable CUDA device: " + gpu::device_description();
  return false;
}

std::unique_ptr<KVMemory> make_gpu_kv_memory() {
  std::string why;
  if (!gpu_kv_memory_available(&why))
    fail(why);
  return std::make_unique<GpuKVMemory>();
}

#else

bool gpu_kv_memory_available(std::string* why) {
  *why = "this build has no CUDA codecs (configure with CACHEGEN_WITH_CUDA=ON)";
  return false;
}

std::unique_ptr<KVMemory> make_gpu_kv_memory() {
  std::string why;
  gpu_kv_memory_available(&why);
  fail(why);
}

#endif

ResidentPipeline resident_pipeline_for(LanguageModel& model) {
  ResidentPipeline out;
  if (model.device() == "cpu")
    return out;
  std::string why;
  if (!gpu_kv_memory_available(&why))
    fail("model '", model.name(), "' runs on ", model.device(), ", but ", why);
  out.memory = make_gpu_kv_memory();
  out.compute = std::make_unique<ResidentCompute>(*out.memory, model);
  std::fprintf(stderr, "measured timing keeps the KV on the device: %s\n",
               out.compute->description().c_str());
  return out;
}

}  // namespace cachegen
