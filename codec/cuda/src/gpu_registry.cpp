#include "cachegen/codec/cuda/gpu_codec.h"

namespace cachegen::gpu {

GpuCodecRegistry& gpu_codec_registry() {
  static GpuCodecRegistry registry("GPU codec", &codec_registry());
  return registry;
}

std::unique_ptr<GpuCodec> GpuCodec::create(const std::string& name, const Options& options,
                                           const CodecContext& context) {
  return gpu_codec_registry().create(name, options, context);
}

}  // namespace cachegen::gpu
