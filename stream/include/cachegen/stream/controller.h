// Streaming controllers (CacheGen §5.3): before each chunk's transfer, choose the encoding it is
// sent in, or kTextChoice to send its text and recompute its KV. A controller is one file in
// stream/src/controllers/ that registers itself (CACHEGEN_REGISTER(controller_registry(), ...));
// configs name it, with its declared options: `controller: "NAME:KEY=VALUE;..."`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/network.h"
#include "cachegen/core/registry.h"
#include "cachegen/stream/chunk_store.h"

namespace cachegen {

// Expected GPU seconds of each option, known before streaming (from the hardware profile, or
// from the times measured when the store was built).
struct CostEstimates {
  std::vector<std::vector<double>> decode_s;  // [chunk][encoding]
  std::vector<double> recompute_s;            // [chunk], on top of the chunks before it
  double question_s = 0;                      // question prefill on the whole context
};

// A chunk already requested: its bytes and when its transfer started and ended (simulated s).
struct SentChunk {
  int64_t chunk = 0;
  int choice = 0;  // an encoding index or kTextChoice
  uint64_t bytes = 0;
  double start_s = 0;
  double arrival_s = 0;
};

// What a controller sees before choosing chunk `next`.
struct StreamView {
  const ChunkStore& store;
  const CostEstimates& costs;
  const std::vector<SentChunk>& sent;
  const NetworkModel& network;  // its state now; an oracle may clone it to look ahead
  int64_t next = 0;
  double now_s = 0;           // when chunk `next` can be requested
  double compute_free_s = 0;  // when the GPU finishes the work queued so far
  double slo_s = 0;
  bool overlap = true;  // transfers overlap the GPU work of earlier chunks

  uint64_t bytes(int64_t chunk, int choice) const;    // an encoding index or kTextChoice
  double compute_s(int64_t chunk, int choice) const;  // decode, or recompute for kTextChoice
  int64_t remaining() const { return store.chunk_count() - next; }
};

class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string name() const = 0;
  // Returns an encoding index of view.store, or kTextChoice.
  virtual int choose(const StreamView& view) = 0;
  // True: the streamer sends the whole context's text in one transfer and recomputes it in one
  // prefill, as the paper measures its text baseline (chunked recompute, kTextChoice per chunk,
  // stays what an adaptive controller does); choose() is then not asked.
  virtual bool whole_context_text() const { return false; }
};

using ControllerRegistry = Registry<Controller>;
ControllerRegistry& controller_registry();

// Creates a controller from "NAME" or "NAME:KEY=VALUE;...", its options checked against the
// controller's schema.
std::unique_ptr<Controller> make_controller(const std::string& spec);

// Quality rank of a choice for planners: 0 for text (recomputed KV is exact), k + 1 for
// encoding k (encodings are listed best quality first). Lower is better.
int64_t quality_loss(int choice);

// The pipeline's clock: transfers run back to back on the network; decodes and recomputes run
// one at a time on the GPU, each after its chunk arrived and the previous GPU work finished.
struct PipelineClock {
  double net_free_s = 0;      // when the last transfer ended
  double compute_free_s = 0;  // when the last GPU work ends
  // When the next transfer may start: at once, or (no overlap) after the GPU is idle too.
  double next_start(bool overlap) const;
  // Records a chunk that arrived at arrival_s and needs compute_s of GPU time; returns when
  // its GPU work starts.
  double add(double arrival_s, double compute_s);
};

}  // namespace cachegen
