// The resident pipeline's GPU memory (stream/resident_compute.h): chunks decoded on the GPU by
// the CUDA codecs, straight into the model's device memory. Encodings with no CUDA codec (the
// `ac` coder, `identity`, `delta=on` works) are decoded on the CPU and uploaded, timed the same.
#pragma once

#include <memory>
#include <string>

#include "cachegen/stream/resident_compute.h"

namespace cachegen {

// Whether this build has the CUDA codecs and a GPU is present; if not, *why says which.
bool gpu_kv_memory_available(std::string* why);
// Fails (saying why) where gpu_kv_memory_available() is false.
std::unique_ptr<KVMemory> make_gpu_kv_memory();

// The resident pipeline of measured timing for a model on a GPU (GPU memory, CUDA codecs): what
// ChunkCompute takes so that GPU runs time GPU work. Empty for a model on the CPU, which keeps
// the host pipeline (its KV is in host memory anyway).
struct ResidentPipeline {
  std::unique_ptr<KVMemory> memory;
  std::unique_ptr<ResidentCompute> compute;
};
ResidentPipeline resident_pipeline_for(LanguageModel& model);

}  // namespace cachegen
