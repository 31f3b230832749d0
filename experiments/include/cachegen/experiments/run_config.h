// Sweep configs for `cachegen run` (configs/*.yaml; keys in configs/README.md and `cachegen
// list`). The top level sets one value per key; `sweep:` lists values for any of those keys, and
// the sweep is the Cartesian product of its lists (first key outermost). Every error names the
// file, line and key, and lists the valid choices.
//
// Settings have one owner each: the run's own keys are declared in run_options() (run_config.cpp);
// network keys are the network model's options, written `net.KEY` (or under a `net:` mapping);
// controller and codec options are declared by each controller and codec and written in their
// specs ("cachegen:prior_mbps=500", "cachegen:level=2").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cachegen/core/options.h"
#include "cachegen/experiments/stream_setup.h"
#include "cachegen/stream/compute_model.h"

namespace cachegen {

// The run's own keys (model, dataset, context_tokens, controller, slo_s, ...), with defaults.
const OptionSchema& run_options();

// One point of a sweep: every setting of its requests.
struct RunPoint {
  int64_t index = 0;
  Options run;  // run_options(), validated: read with run.text("model"), run.integer(...), ...
  std::map<std::string, std::string> net;  // the network's options (net.KEY without "net.")

  ComputeTiming timing() const { return parse_compute_timing(run.text("timing")); }
  // The controller spec: `controller`, or "fixed:encoding=NAME" when `encoding` is set.
  std::string controller_spec() const;
  // Every setting as a results column: the run keys in run_options() order (but `name`;
  // `seed`, whose per-request value is its own column; and `threads`, on which no result
  // depends), then the config's net.* keys, sorted.
  std::vector<std::pair<std::string, std::string>> settings() const;
};

struct RunConfig {
  std::string source;  // the file
  std::string name;
  std::vector<EncodingSpec> encodings;   // the store's encodings, best quality first
  std::vector<std::string> axis_names;   // in sweep order
  std::vector<std::string> pooled_axes;  // swept keys summary.json also averages over (`pool:`)
  std::vector<RunPoint> points;
  std::string resolved_yaml;  // every key with its value or default, and the sweep

  // Encodings a point stores: all, or those of its codec (and its fixed encoding).
  std::vector<EncodingSpec> encodings_for(const RunPoint& point) const;
};

// Loads and validates a sweep config (files it names must exist; names must be registered).
RunConfig load_run_config(const std::string& path);

// Whether a run directory's config.yaml (`written`, by this or an earlier version) describes the
// same run as `resolved` (this version's resolved_yaml, shard line included): equal, or equal
// but for run keys that a later version added and that this config leaves at their defaults (a
// key is added with the default that keeps what earlier versions did), so that --resume
// survives new keys.
bool same_resolved_config(const std::string& written, const std::string& resolved);

}  // namespace cachegen
