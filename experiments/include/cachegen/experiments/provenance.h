// The provenance of a results directory (provenance.json, and summary.json's "provenance"): the
// sha256 of every input file a sweep config names, directly or through a plug-in's file option
// defaults (dataset texts, traces, hardware profiles, codec profiles) and every file of the
// model checkpoints it uses (weights, config, tokenizer), plus every build that ran (started or
// resumed) the directory: revision at build time, dirty flag, compiler, libtorch and ns-3
// versions. Which build wrote a row is the row's `revision` column.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cachegen/experiments/run_config.h"

namespace cachegen {

// {"revision", "dirty", "compiler", "torch", "ns3"} of this program.
nlohmann::ordered_json build_provenance();

// {path: sha256} of the config's input files, sorted by path (paths as the config writes them;
// a named checkpoint's files as "<name>/<file>").
nlohmann::ordered_json input_hashes(const RunConfig& config);

// Writes out_dir/provenance.json ({"inputs", "builds"}) for a run starting or resuming there:
// a resumed run whose inputs changed since its rows were written fails, naming the file, unless
// accept_changed_inputs: then "input_changes" gains {"rows_before": the rows runs.csv held,
// "then": the old input hashes, "build"} and "inputs" are the new ones (a derived input, such
// as a codec profile regenerated on another CPU, can differ in its last bits). A new build is
// appended to "builds". Returns what it wrote.
nlohmann::ordered_json record_provenance(const RunConfig& config, const std::string& out_dir,
                                         int64_t rows_before = 0,
                                         bool accept_changed_inputs = false);

// dir/provenance.json, checked for its shape; null when there is none (a run of an older version).
nlohmann::ordered_json read_provenance(const std::string& dir);

// Joins the shards' provenance.json into out_dir: the same inputs (or a failure naming the
// shard), every build that ran one. Writes nothing when a shard has none.
void merge_provenance(const std::vector<std::string>& shard_dirs, const std::string& out_dir);

}  // namespace cachegen
