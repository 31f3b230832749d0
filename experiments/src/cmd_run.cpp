// run and merge: config-driven sweeps on the command line.
#include <unistd.h>

#include <cstdio>

#include "cachegen/core/error.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/runner.h"

namespace cachegen {

int run_run(int argc, char** argv) {
  CliArgs args("run", argc, argv, {"out", "shard"}, {"resume", "accept-changed-inputs", "quiet"});
  args.expect_positionals(
      1, 1, "CONFIG.yaml [--out DIR] [--resume [--accept-changed-inputs]] [--shard I/N] [--quiet]");
  RunConfig config = load_run_config(args.positionals()[0]);
  RunOptions options;
  options.out_dir = args.get("out", "results/runs/" + config.name);
  options.resume = args.has("resume");
  options.accept_changed_inputs = args.has("accept-changed-inputs");
  if (options.accept_changed_inputs && !options.resume)
    fail("cachegen run: --accept-changed-inputs goes with --resume");
  options.progress = !args.has("quiet") && isatty(2);  // a bar only on a terminal
  if (args.has("shard")) {
    const std::string shard = args.get("shard", "");
    long long index = 0, count = 0;
    char tail = 0;
    if (std::sscanf(shard.c_str(), "%lld/%lld%c", &index, &count, &tail) != 2)
      fail("--shard '", shard, "': expected I/N, e.g. 0/4");
    options.shard_index = index;
    options.shard_count = count;
  }
  RunStats stats = run_sweep(config, options);
  std::printf("%s: %lld rows (%lld written, %lld already done) in %s\n", config.name.c_str(),
              static_cast<long long>(stats.rows), static_cast<long long>(stats.written),
              static_cast<long long>(stats.resumed), options.out_dir.c_str());
  if (options.shard_count == 1)
    std::printf("%s", write_summary(options.out_dir).c_str());
  return 0;
}

int run_merge(int argc, char** argv) {
  CliArgs args("merge", argc, argv, {"out"}, {});
  args.expect_positionals(1, 1000, "--out DIR SHARD_DIR...");
  if (!args.has("out"))
    fail("cachegen merge: --out DIR is required");
  const std::string out = args.get("out", "");
  merge_results(args.positionals(), out);
  std::printf("%s", write_summary(out).c_str());
  return 0;
}

}  // namespace cachegen
