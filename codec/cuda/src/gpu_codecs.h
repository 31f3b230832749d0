// Factories of the GPU codecs (private; GpuCodec::create picks one by name).
#pragma once

#include <memory>

#include "cachegen/codec/cuda/gpu_codec.h"

namespace cachegen::gpu {

std::unique_ptr<GpuCodec> make_gpu_cachegen_codec(Options& options, const CodecContext& context);
std::unique_ptr<GpuCodec> make_gpu_quant_codec(Options& options, const CodecContext& context);
std::unique_ptr<GpuCodec> make_gpu_kivi_codec(Options& options, const CodecContext& context);

}  // namespace cachegen::gpu
