// The online side of streaming (CacheGen §5.3): loads one context's KV from a ChunkStore for a
// request, chunk by chunk, as the controller chooses, over a network model, and reports the
// time to first token (TTFT) and its breakdown.
//
// Pipeline (simulated time, seconds from the request): chunk i's transfer starts when chunk
// i-1's transfer ended (overlap on) or when the GPU is also idle (overlap off); its decode, or
// for a text chunk its recompute by prefill on top of the KV of chunks 0..i-1, starts when it
// arrived and the GPU finished the previous chunk's work. Then the question is prefilled on
// the assembled KV, which produces the first token: TTFT = GPU free time + question prefill.
#pragma once

#include <cstdint>
#include <vector>

#include "cachegen/core/language_model.h"
#include "cachegen/core/network.h"
#include "cachegen/stream/chunk_store.h"
#include "cachegen/stream/compute_model.h"
#include "cachegen/stream/controller.h"
#include "cachegen/stream/resident_compute.h"

namespace cachegen {

// Runs (or prices) the GPU work. Measured timing runs the real codec and model and uses their
// wall time; profile timing uses the hardware profile's times, and still runs the real work
// when the KV is wanted (materialize), so that quality is measured on the KV really assembled.
// With a ResidentCompute (measured timing only), the KV stays where the model runs (a GPU's
// memory in a CUDA build) and the work is timed there.
class ChunkCompute {
 public:
  // `model` may be null: then text chunks take the reference KV (what a recompute yields
  // up to rounding) and measured timing is refused.
  ChunkCompute(ComputeTiming timing, const HardwareProfile* profile, LanguageModel* model,
               bool materialize, ResidentCompute* resident = nullptr);

  ComputeTiming timing() const { return timing_; }
  bool materialize() const { return materialize_; }
  ResidentCompute* resident() const { return resident_; }
  // Expected times for the controller: the profile's, or those measured when the store was
  // built (decode) and from the model's prefill of the context (recompute, question); with a
  // ResidentCompute, measured there now (ResidentCompute::measure_estimates).
  CostEstimates estimates(const ChunkStore& store, int64_t question_tokens);

  // Each returns the GPU seconds. When materializing, the chunk's KV is written into its tokens
  // of `context` (the whole context's cache, the store reference's shape and dtype; a recompute
  // reads the chunks before it from there); a ResidentCompute keeps the KV itself instead.
  double decode(const ChunkStore& store, int64_t chunk, int encoding, KVCache& context);
  double recompute(const ChunkStore& store, int64_t chunk, KVCache& context);
  // The whole context recomputed by one prefill of all its tokens (into `context`).
  double recompute_context(const ChunkStore& store, KVCache& context);
  double question_prefill(const KVCache& context, const std::vector<int32_t>& question,
                          int64_t question_tokens, int64_t context_tokens);

 private:
  ComputeTiming timing_;
  const HardwareProfile* profile_;
  LanguageModel* model_;
  bool materialize_;
  ResidentCompute* resident_;
};

struct StreamRequest {
  std::vector<int32_t> question;  // may be empty (profile timing, no model)
  int64_t question_tokens = 0;    // for profile timing when `question` is empty
  double slo_s = 0;               // > 0
  bool overlap = true;
};

struct ChunkOutcome {
  int choice = kTextChoice;  // or a store encoding's index
  int64_t chunks = 1;        // store chunks it covers: all of them for whole-context text
  uint64_t bytes = 0;
  double start_s = 0;  // transfer requested
  double arrival_s = 0;
  double compute_start_s = 0;
  double compute_s = 0;  // decode or recompute
};

struct StreamOutcome {
  double ttft_s = 0;
  double transfer_s = 0;   // sum of chunk transfer times (request to last byte)
  double decode_s = 0;     // sum of decode times
  double recompute_s = 0;  // sum of recompute times
  double prefill_s = 0;    // question prefill
  double waiting_s = 0;    // GPU idle before the first token: ttft - decode - recompute - prefill
  uint64_t bytes = 0;      // all bytes sent (bitstreams and text)
  bool slo_met = false;
  std::vector<ChunkOutcome> chunks;
  KVCache kv;  // the context's KV as assembled (materialize only), in the reference's dtype
};

StreamOutcome stream_context(const ChunkStore& store, Controller& controller, NetworkModel& network,
                             ChunkCompute& compute, const StreamRequest& request);

}  // namespace cachegen
