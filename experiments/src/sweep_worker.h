// One row of a sweep: builds (or reuses) the request's context and chunk store, streams it
// with the point's controller and network, and measures quality on the KV streaming assembled.
// Private to the runner.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <string>

#include "cachegen/core/dataset.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/experiments/run_config.h"
#include "cachegen/stream/chunk_store.h"
#include "gpu_kv_memory.h"

namespace cachegen {

class SweepWorker {
 public:
  explicit SweepWorker(const RunConfig& config);
  ~SweepWorker();
  // The row of request `request` of `point`, column -> value (the point's settings and
  // result_columns()).
  std::map<std::string, std::string> run(const RunPoint& point, int64_t request);

 private:
  struct Loaded {  // a language model and the datasets made for its tokenizer
    std::unique_ptr<LanguageModel> model;
    std::map<std::string, std::unique_ptr<Dataset>> datasets;  // by dataset spec
    ResidentPipeline resident;  // a model on a GPU: its measured-timing pipeline
  };
  Loaded& loaded(const std::string& model_spec, int threads);
  Dataset& dataset(Loaded& loaded, const std::string& spec);
  // A context with the dataset request it came from (scored after streaming; empty for
  // synthetic contexts).
  struct Context {
    StreamContext stream;
    DatasetRequest request;
    // The model's logits for the scored tokens on the uncompressed KV [scored, vocab]: the
    // reference of KL and top-1, the same for every point of the request (computed once).
    std::vector<float> reference_logits;
    // With context compression (context_compression.h): the whole context's KV (the stream
    // holds the compressed one), and where the question starts (-1: after the stream's KV;
    // H2O: after the original context).
    KVCache full_kv;
    int64_t first_position = -1;
    int64_t original_elements = 0;  // KV elements of the uncompressed context
  };
  struct Prepared {
    std::shared_ptr<Context> context;
    std::shared_ptr<ChunkStore> store;
  };
  Prepared prepare(const RunPoint& point, uint64_t seed, const ProfiledModel* profiled);
  const ProfiledModel* profile(const std::string& path);

  const RunConfig& config_;
  std::map<std::string, Loaded> models_;  // by model spec
  std::map<std::string, std::unique_ptr<ProfiledModel>> profiles_;
  // Recently used contexts and stores, newest first, within a byte budget.
  std::list<std::pair<std::string, std::shared_ptr<Context>>> contexts_;
  std::list<std::pair<std::string, std::shared_ptr<ChunkStore>>> stores_;
};

}  // namespace cachegen
