// Sweep configs for `cachegen run` (configs/*.yaml; every key is documented in
// configs/README.md). The top level sets one value per key; `sweep:` lists values for any of
// those keys, and the sweep is the Cartesian product of its lists (first key outermost). Every
// error names the file, line and key, and lists the valid choices.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cachegen/core/compute_model.h"
#include "cachegen/experiments/stream_setup.h"

namespace cachegen {

// One point of a sweep: every setting of its requests.
struct RunPoint {
  int64_t index = 0;
  std::vector<std::pair<std::string, std::string>> axes;  // the swept keys and their values

  std::string model = "builtin";  // builtin, a checkpoint directory, or synthetic
  std::string hardware;           // hardware profile YAML ("" = none)
  ComputeTiming timing = ComputeTiming::kMeasured;
  std::string dataset = "line_retrieval";
  std::string dataset_path;
  int64_t context_tokens = 1024;
  int64_t chunk_tokens = 1536;
  int64_t question_tokens = 32;         // synthetic contexts
  int64_t eval_tokens = 128;            // text datasets: tokens scored after the context
  int64_t max_new_tokens = 16;          // QA datasets: answer length
  std::string controller = "cachegen";  // name[:key=value;...]
  std::string level;                    // non-empty: the fixed controller at this level
  std::string codec;                    // non-empty: only this codec's levels are stored
  std::string network = "fluid";
  double bandwidth_gbps = 3;
  std::string trace;  // a trace file instead of bandwidth_gbps
  double rtt_ms = 10;
  double slo_s = 1;
  bool overlap = true;
  uint64_t seed = 1;
  int64_t requests = 1;
  int threads = 0;

  // Every key's value as text, in the config's key order (name excluded).
  std::vector<std::pair<std::string, std::string>> settings() const;
  // The controller's registry name and options ("fixed" with level=... when `level` is set).
  std::string controller_name() const;
  std::string controller_options() const;
};

struct RunConfig {
  std::string source;  // the file
  std::string name;
  std::vector<LevelSpec> levels;                   // the store's levels, best quality first
  std::map<std::string, std::string> net_options;  // extra network options (slow_start, ...)
  std::vector<std::string> axis_names;             // in sweep order
  std::vector<RunPoint> points;
  std::string resolved_yaml;  // every key with its value or default, and the sweep

  // Levels a point stores: all, or those of its codec.
  std::vector<LevelSpec> levels_for(const RunPoint& point) const;
};

// Loads and validates a sweep config (files it names must exist; names must be registered).
RunConfig load_run_config(const std::string& path);

}  // namespace cachegen
