// `cachegen run`: runs every (point, request) of a sweep config and writes, into one results
// directory, config.yaml (the resolved config), runs.csv (one row per request, each with the
// revision of the build that wrote it), provenance.json (the inputs' sha256 and the builds:
// provenance.h) and summary.json (per point means, and the provenance). Rows are appended and
// synced one by one, so a killed run restarted with resume finishes with no row lost or repeated;
// shards split the rows for a cluster and merge_results() joins them into what one unsharded run
// writes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cachegen/experiments/run_config.h"

namespace cachegen {

struct RunOptions {
  std::string out_dir;
  bool resume = false;
  int64_t shard_index = 0;  // this process runs the rows k with k % shard_count == shard_index
  int64_t shard_count = 1;
  bool progress = true;                // a progress bar with an ETA on stderr
  bool accept_changed_inputs = false;  // resume although an input's sha256 changed (recorded)
};

struct RunStats {
  int64_t rows = 0;     // rows this shard owns
  int64_t written = 0;  // rows written by this call
  int64_t resumed = 0;  // rows found done already
};

// The columns of a config's runs.csv, in order: point, request, seed (the request's: the
// config's seed + request), then one per setting (RunPoint::settings(): the run keys and the
// config's net.* keys), then result_columns().
std::vector<std::string> run_columns(const RunConfig& config);
// What a request measured: revision, kv_tokens (the context's KV tokens), encoding_used and
// codec_used (one name, "text" or "mixed"), TTFT and its breakdown, bytes, quality, and
// chunk_encodings (each chunk's encoding).
const std::vector<std::string>& result_columns();

RunStats run_sweep(const RunConfig& config, const RunOptions& options);

// Joins shard directories of one config into out_dir; fails on a missing, repeated or foreign
// row.
void merge_results(const std::vector<std::string>& shard_dirs, const std::string& out_dir);

// Writes out_dir/summary.json from out_dir/runs.csv, and returns the summary table (one line per
// point: its axes, TTFT, size, quality, SLO met).
std::string write_summary(const std::string& out_dir);

}  // namespace cachegen
