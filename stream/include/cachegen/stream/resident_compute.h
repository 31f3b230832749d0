// Measured timing with the context's KV kept where the model runs, as a GPU serving engine keeps
// it: each chunk is decoded (or recomputed) into that memory, the question is prefilled on it,
// and nothing crosses to the host inside the timed work but bitstreams, token ids and the first
// token. The memory and its decoder are a KVMemory: host memory with the CPU codecs here, GPU
// memory with the CUDA codecs in a CUDA build (experiments/src/gpu_kv_memory.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/language_model.h"
#include "cachegen/stream/chunk_store.h"
#include "cachegen/stream/controller.h"

namespace cachegen {

class KVMemory {
 public:
  virtual ~KVMemory() = default;
  // "host memory, CPU codecs", or the GPU and which encodings its codecs decode.
  virtual std::string description() const = 0;
  // Memory for a chunk's KV of `shape` in `dtype`, valid until release().
  virtual ResidentKV allocate(const KVShape& shape, DType dtype) = 0;
  virtual void release() = 0;
  // Decodes chunk `chunk` of store encoding `encoding` into `dst` (the chunk's shape, any
  // dtype) and returns when it is there.
  virtual void decode(const ChunkStore& store, int64_t chunk, int encoding,
                      const ResidentKV& dst) = 0;
  // A copy on the host (for scoring; not timed).
  virtual KVCache download(const ResidentKV& kv) const = 0;
};

// Host memory, decoded by the store's CPU codecs: the resident pipeline on a CPU (and the
// reference the GPU one is checked against).
std::unique_ptr<KVMemory> make_host_kv_memory();

class ResidentCompute {
 public:
  // `model` must run in `memory` (a CPU model with host memory, a CUDA model with GPU memory).
  ResidentCompute(KVMemory& memory, LanguageModel& model);

  std::string description() const;
  // Forgets the previous request's chunks; the KV will be kept in `dtype`.
  void begin(DType dtype);
  // Each appends the chunk's KV and returns its wall seconds (the device finished).
  double decode(const ChunkStore& store, int64_t chunk, int encoding);
  double recompute(const ChunkStore& store, int64_t chunk);  // on top of the chunks so far
  double recompute_context(const ChunkStore& store);         // all tokens, one prefill
  double question_prefill(const std::vector<int32_t>& question);
  // The chunks so far, joined on the host.
  KVCache assembled() const;

  // The controller's expected times, measured here: every chunk decoded once in every encoding
  // and recomputed once on top of the chunks before it, the question priced at the last
  // chunk's prefill rate. The first use on a device is its warm-up (kernel loading, library
  // handles), which this keeps out of the timed request.
  CostEstimates measure_estimates(const ChunkStore& store, DType dtype, int64_t question_tokens);

 private:
  // Decodes into fresh memory (not appended); returns the wall seconds.
  double decode_into(const ChunkStore& store, int64_t chunk, int encoding, ResidentKV* dst);

  KVMemory& memory_;
  LanguageModel& model_;
  DType dtype_ = DType::kF16;
  std::vector<ResidentKV> chunks_;
};

}  // namespace cachegen
