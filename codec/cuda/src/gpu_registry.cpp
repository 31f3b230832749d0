#include "cachegen/codec/cuda/gpu_codec.h"
#include "cachegen/core/error.h"
#include "gpu_codecs.h"

namespace cachegen::gpu {

std::unique_ptr<GpuCodec> GpuCodec::create(const std::string& name, Options options,
                                           const CodecContext& context) {
  std::unique_ptr<GpuCodec> codec;
  if (name == "cachegen") {
    codec = make_gpu_cachegen_codec(options, context);
  } else if (name == "quant") {
    codec = make_gpu_quant_codec(options, context);
  } else if (name == "kivi") {
    codec = make_gpu_kivi_codec(options, context);
  } else {
    fail("no GPU codec '", name, "'; the GPU codecs are: cachegen, kivi, quant");
  }
  options.finish();
  return codec;
}

}  // namespace cachegen::gpu
