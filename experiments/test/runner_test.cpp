// The sweep runner on synthetic KV with profiled timing (deterministic): results files,
// sharding and merging, resuming a killed run, and config errors.
#include "cachegen/experiments/runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cachegen/core/build_info.h"
#include "cachegen/core/error.h"
#include "cachegen/core/sha256.h"
#include "cachegen/experiments/run_config.h"
#include "run_cli.h"

namespace cachegen {
namespace {

namespace fs = std::filesystem;

std::string dir_for(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/runner_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char kProfile[] = R"(name: tiny
model: {name: tiny, layers: 2, hidden_size: 128, kv_heads: 2, head_dim: 64, parameters: 1.0e6}
gpu: {name: test, fp16_tflops: 0.01, utilisation: 0.5, prefill_fixed_ms: 1, decode_gbps: 1}
)";

// Writes the profile and a config (with `body` appended) into dir; returns the config path.
std::string write_config(const std::string& dir, const std::string& body) {
  std::ofstream(dir + "/tiny.yaml") << kProfile;
  std::string path = dir + "/sweep.yaml";
  std::ofstream(path) << "name: t\nmodel: synthetic\nhardware: " << dir
                      << "/tiny.yaml\ntiming: profile\n"
                      << body;
  return path;
}

const char kSweep[] = R"(context_tokens: 600
chunk_tokens: 128
requests: 3
net.rtt_ms: 2
slo_s: 0.2
encodings:
  q8: quant:bits=8
  cg2: cachegen:level=2
  cg1: cachegen:level=1
sweep:
  controller: [cachegen, text, "fixed:encoding=cg1", oracle]
  net.bandwidth_gbps: [0.05, 0.5]
)";

TEST(Runner, WritesConfigRowsAndSummary) {
  std::string dir = dir_for("basic");
  RunConfig config = load_run_config(write_config(dir, kSweep));
  ASSERT_EQ(config.points.size(), 8u);
  EXPECT_EQ(config.points[3].controller_spec(), "text");
  EXPECT_EQ(config.points[3].net.at("bandwidth_gbps"), "0.5");
  EXPECT_EQ(config.points[3].net.at("rtt_ms"), "2");
  RunOptions options;
  options.out_dir = dir + "/out";
  options.progress = false;
  RunStats stats = run_sweep(config, options);
  EXPECT_EQ(stats.rows, 24);
  EXPECT_EQ(stats.written, 24);
  std::string table = write_summary(options.out_dir);
  EXPECT_NE(table.find("fixed:encoding=cg1"), std::string::npos) << table;
  std::string csv = read(options.out_dir + "/runs.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 25);
  // One column per setting (run keys and the config's net.* keys), then the results.
  EXPECT_EQ(
      csv.substr(0, csv.find('\n')),
      "point,request,seed,model,hardware,timing,prefill_efficiency,decode_time_scale,dataset,"
      "context_tokens,chunk_tokens,"
      "question_tokens,eval_tokens,max_new_tokens,controller,encoding,codec,compression,network,"
      "slo_s,"
      "overlap,requests,net.bandwidth_gbps,net.rtt_ms,revision,kv_tokens,"
      "encoding_used,codec_used,ttft_s,transfer_s,decode_s,recompute_s,prefill_s,"
      "waiting_s,kv_bytes,bits_per_element,slo_met,accuracy,f1,perplexity,kl,top1,"
      "kv_relative_error,chunk_encodings");
  auto summary = nlohmann::json::parse(read(options.out_dir + "/summary.json"));
  ASSERT_EQ(summary["points"].size(), 8u);
  EXPECT_EQ(summary["points"][3]["encoding_used"], "text");
  EXPECT_EQ(summary["points"][3]["net.bandwidth_gbps"], "0.5");
  EXPECT_EQ(summary["points"][3]["kv_relative_error"].get<double>(), 0.0);
  // The fixed encoding's size is the same at both bandwidths; the oracle never misses where
  // cachegen meets the SLO.
  EXPECT_EQ(summary["points"][4]["kv_bytes"], summary["points"][5]["kv_bytes"]);
  for (int bw = 0; bw < 2; ++bw) {
    EXPECT_GE(summary["points"][6 + bw]["slo_met_rate"].get<double>(),
              summary["points"][0 + bw]["slo_met_rate"].get<double>());
  }
  // An existing directory is not overwritten without --resume.
  EXPECT_THROW(run_sweep(config, options), Error);
  // Resuming a finished run writes nothing and changes nothing.
  options.resume = true;
  EXPECT_EQ(run_sweep(config, options).written, 0);
  EXPECT_EQ(read(options.out_dir + "/runs.csv"), csv);
  // Resuming with another config is refused.
  RunConfig other = load_run_config(write_config(dir, std::string(kSweep) + "seed: 9\n"));
  EXPECT_THROW(run_sweep(other, options), Error);
}

// `pool:` adds summary entries over swept keys: the points that differ only in them, their
// requests together, the violation rate with a 95% Wilson interval on the effective sample
// size (requests of one point are clusters).
TEST(Runner, SummaryPoolsRequestsOverPooledKeys) {
  std::string dir = dir_for("pool");
  RunConfig config =
      load_run_config(write_config(dir, std::string(kSweep) + "pool: [net.bandwidth_gbps]\n"));
  EXPECT_EQ(config.pooled_axes, std::vector<std::string>{"net.bandwidth_gbps"});
  EXPECT_NE(config.resolved_yaml.find("pool: [net.bandwidth_gbps]"), std::string::npos);
  run_sweep(config, RunOptions{dir + "/out", false, 0, 1, false});
  write_summary(dir + "/out");
  auto summary = nlohmann::json::parse(read(dir + "/out/summary.json"));
  EXPECT_EQ(summary["pooled_over"], nlohmann::json::array({"net.bandwidth_gbps"}));
  ASSERT_EQ(summary["pooled"].size(), 4u);  // one per controller
  for (size_t c = 0; c < 4; ++c) {
    const auto& pooled = summary["pooled"][c];
    const auto& low = summary["points"][2 * c];
    const auto& high = summary["points"][2 * c + 1];
    EXPECT_EQ(pooled["controller"], low["controller"]);
    EXPECT_FALSE(pooled.contains("net.bandwidth_gbps"));
    EXPECT_EQ(pooled["points"], 2);
    EXPECT_EQ(pooled["requests"], 6);
    const double rate = pooled["slo_violation_rate"].get<double>();
    EXPECT_DOUBLE_EQ(
        rate,
        (low["slo_violation_rate"].get<double>() + high["slo_violation_rate"].get<double>()) / 2);
    EXPECT_DOUBLE_EQ(pooled["ttft_s"].get<double>(),
                     (low["ttft_s"].get<double>() + high["ttft_s"].get<double>()) / 2);
    const auto interval = pooled["slo_violation_ci95"].get<std::vector<double>>();
    ASSERT_EQ(interval.size(), 2u);
    EXPECT_LE(interval[0], rate);
    EXPECT_GE(interval[1], rate);
    // Requests of one point are clustered: the interval counts between 2 (points) and 6.
    const double effective_n = pooled["slo_violation_effective_n"].get<double>();
    EXPECT_GE(effective_n, 2.0);
    EXPECT_LE(effective_n, 6.0);
    if (rate == 0 || rate == 1) {
      EXPECT_EQ(effective_n, 2.0);  // nothing to estimate the clustering from: conservative
    }
  }
  // A point's interval too: Wilson's for 0 of 3 is [0, 0.562] (z = 1.96).
  for (const auto& point : summary["points"]) {
    if (point["slo_violation_rate"].get<double>() == 0) {
      EXPECT_EQ(point["slo_violation_ci95"][0].get<double>(), 0.0);
      EXPECT_NEAR(point["slo_violation_ci95"][1].get<double>(), 0.5615, 1e-4);
    }
  }
  // Only swept keys pool; the nearest one is named.
  try {
    load_run_config(write_config(dir, std::string(kSweep) + "pool: [net.bandwidth_gbp]\n"));
    FAIL() << "an unswept pooled key was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("net.bandwidth_gbps"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 17"), std::string::npos) << e.what();
  }
}

// Data rows of a runs.csv text: its lines less the header.
size_t data_rows(const std::string& csv) {
  return static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')) - 1;
}

// provenance.json (and summary.json) name every input file with its sha256 and the build; a
// resumed run whose input changed fails naming it, or goes on recording the change when asked.
TEST(Runner, ProvenanceHashesInputsAndRefusesChangedOnes) {
  const std::string dir = dir_for("provenance");
  RunConfig config = load_run_config(write_config(dir, kSweep));
  run_sweep(config, RunOptions{dir + "/out", false, 0, 1, false});
  write_summary(dir + "/out");
  nlohmann::json provenance = nlohmann::json::parse(read(dir + "/out/provenance.json"));
  const std::string profile = dir + "/tiny.yaml";
  EXPECT_EQ(provenance["inputs"][profile], sha256_file(profile));
  ASSERT_EQ(provenance["builds"].size(), 1u);
  EXPECT_EQ(provenance["builds"][0]["revision"], build_info().revision);
  EXPECT_EQ(provenance["builds"][0]["dirty"], build_info().dirty);
  nlohmann::json summary = nlohmann::json::parse(read(dir + "/out/summary.json"));
  EXPECT_EQ(summary["provenance"], provenance);
  EXPECT_NE(read(dir + "/out/runs.csv").find("," + build_revision_label() + ","),
            std::string::npos);

  std::ofstream(profile, std::ios::app) << "# edited\n";
  try {
    run_sweep(config, RunOptions{dir + "/out", true, 0, 1, false});
    FAIL() << "a changed input was not noticed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "an input changed since this run's rows were written: " + profile + " (sha256 "),
              std::string::npos)
        << e.what();
  }
  // Accepted on request: the change is recorded with the rows written before it.
  const std::string old_hash = provenance["inputs"][profile];
  const size_t rows = data_rows(read(dir + "/out/runs.csv"));
  RunOptions accept{dir + "/out", true, 0, 1, false};
  accept.accept_changed_inputs = true;
  run_sweep(config, accept);
  provenance = nlohmann::json::parse(read(dir + "/out/provenance.json"));
  EXPECT_EQ(provenance["inputs"][profile], sha256_file(profile));
  ASSERT_EQ(provenance["input_changes"].size(), 1u);
  EXPECT_EQ(provenance["input_changes"][0]["rows_before"].get<size_t>(), rows);
  EXPECT_EQ(provenance["input_changes"][0]["then"][profile], old_hash);
}

TEST(Runner, ShardedThenMergedEqualsUnsharded) {
  std::string dir = dir_for("shards");
  RunConfig config = load_run_config(write_config(dir, kSweep));
  RunOptions whole;
  whole.out_dir = dir + "/whole";
  whole.progress = false;
  run_sweep(config, whole);
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    RunOptions shard = whole;
    shard.out_dir = dir + "/shard" + std::to_string(i);
    shard.shard_index = i;
    shard.shard_count = 3;
    EXPECT_EQ(run_sweep(config, shard).rows, 8);
    shards.push_back(shard.out_dir);
  }
  merge_results(shards, dir + "/merged");
  EXPECT_EQ(read(dir + "/merged/runs.csv"), read(dir + "/whole/runs.csv"));
  EXPECT_EQ(read(dir + "/merged/config.yaml"), read(dir + "/whole/config.yaml"));
  EXPECT_THROW(merge_results({shards[0], shards[1]}, dir + "/partial"), Error);
  EXPECT_THROW(merge_results({shards[0], shards[0], shards[1]}, dir + "/twice"), Error);
}

TEST(Runner, KilledRunResumesWithNoRowLostOrRepeated) {
  std::string dir = dir_for("kill");
  // Bigger contexts, so that a row takes long enough to kill the run mid-sweep.
  std::string sweep = kSweep;
  sweep.replace(sweep.find("context_tokens: 600"), 19, "context_tokens: 6000");
  sweep.replace(sweep.find("chunk_tokens: 128"), 17, "chunk_tokens: 1024");
  sweep.replace(sweep.find("requests: 3"), 11, "requests: 6");
  std::string path = write_config(dir, sweep);
  ASSERT_EQ(run_cli("run " + path + " --quiet --out " + dir + "/whole").exit_code, 0);
  const std::string whole = read(dir + "/whole/runs.csv");
  const auto rows = std::count(whole.begin(), whole.end(), '\n') - 1;
  ASSERT_EQ(rows, 48);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl(CACHEGEN_BIN, CACHEGEN_BIN, "run", path.c_str(), "--quiet", "--out",
          (dir + "/killed").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it once some rows, but not all, are written.
  for (int i = 0; i < 2000; ++i) {
    std::string partial = read(dir + "/killed/runs.csv");
    if (std::count(partial.begin(), partial.end(), '\n') > 6)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it was killed";
  const std::string partial = read(dir + "/killed/runs.csv");
  EXPECT_LT(std::count(partial.begin(), partial.end(), '\n') - 1, rows);

  CliResult resumed = run_cli("run " + path + " --quiet --resume --out " + dir + "/killed");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read(dir + "/killed/runs.csv"), whole);
}

// A run directory written before a run key existed resumes when the config leaves that key at
// its default; any other difference refuses.
TEST(Runner, ResumeAcceptsOnlyNewKeysAtTheirDefaults) {
  std::string dir = dir_for("newkeys");
  std::string path = write_config(dir, kSweep);
  const std::string resolved = load_run_config(path).resolved_yaml + "# shard 0/1\n";
  EXPECT_TRUE(same_resolved_config(resolved, resolved));
  // As an earlier version wrote it: without the keys added since (prefill_efficiency and
  // decode_time_scale, at their defaults here).
  std::string earlier = resolved;
  for (const std::string key : {"prefill_efficiency: 0\n", "decode_time_scale: 1\n"}) {
    ASSERT_NE(earlier.find(key), std::string::npos) << key << " in\n" << resolved;
    earlier.erase(earlier.find(key), key.size());
  }
  EXPECT_TRUE(same_resolved_config(earlier, resolved));
  // The key at another value than its default, a changed value, a key gone, another shard.
  std::string set = resolved;
  set.replace(set.find("decode_time_scale: 1"), 20, "decode_time_scale: 2");
  EXPECT_FALSE(same_resolved_config(earlier, set));
  std::string changed = earlier;
  changed.replace(changed.find("chunk_tokens: 128"), 17, "chunk_tokens: 256");
  EXPECT_FALSE(same_resolved_config(changed, resolved));
  EXPECT_FALSE(same_resolved_config(earlier + "retired_key: 3\n", resolved));
  std::string shard = earlier;
  shard.replace(shard.find("# shard 0/1"), 11, "# shard 1/2");
  EXPECT_FALSE(same_resolved_config(shard, resolved));
  EXPECT_FALSE(same_resolved_config("not: [yaml", resolved));
  // End to end: a run written before the keys existed (config.yaml and runs.csv without them,
  // half of its rows) resumes, and ends as a fresh run does.
  const std::string out = dir + "/out";
  ASSERT_EQ(run_cli("run " + path + " --quiet --out " + out).exit_code, 0);
  const std::string whole = read(out + "/runs.csv");
  std::istringstream lines(whole);
  std::string line, old_csv;
  for (int i = 0; std::getline(lines, line) && i <= 12; ++i) {  // the header and 12 rows
    std::vector<std::string> cells;
    std::istringstream fields(line);  // (no field of this sweep holds a comma)
    for (std::string field; std::getline(fields, field, ',');)
      cells.push_back(field);
    cells.erase(cells.begin() + 6, cells.begin() + 8);  // prefill_efficiency, decode_time_scale
    for (size_t c = 0; c < cells.size(); ++c)
      old_csv += (c ? "," : "") + cells[c];
    old_csv += "\n";
  }
  ASSERT_EQ(old_csv.find("prefill_efficiency"), std::string::npos) << old_csv;
  std::ofstream(out + "/config.yaml", std::ios::trunc) << earlier;
  std::ofstream(out + "/runs.csv", std::ios::trunc) << old_csv;
  CliResult resumed = run_cli("run " + path + " --quiet --resume --out " + out);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read(out + "/runs.csv"), whole);
  // A column that is not a run key cannot be filled in.
  std::string no_ttft = whole;
  no_ttft.replace(no_ttft.find(",ttft_s,"), 8, ",ttft_x,");
  std::ofstream(out + "/runs.csv", std::ios::trunc) << no_ttft;
  CliResult refused = run_cli("run " + path + " --quiet --resume --out " + out);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("column 'ttft_x' is not one of this version's"), std::string::npos)
      << refused.output;
}

// The same config and seed give byte-identical results on 1 and 2 threads, and across runs.
TEST(Runner, ResultsDoNotDependOnThreadsOrRun) {
  std::string dir = dir_for("threads");
  std::vector<std::string> csvs;
  for (const char* threads : {"threads: 1\n", "threads: 2\n", "threads: 2\n"}) {
    RunConfig config = load_run_config(write_config(dir, std::string(kSweep) + threads));
    RunOptions options;
    options.out_dir = dir + "/out" + std::to_string(csvs.size());
    options.progress = false;
    run_sweep(config, options);
    csvs.push_back(read(options.out_dir + "/runs.csv"));
  }
  EXPECT_EQ(csvs[0], csvs[1]);
  EXPECT_EQ(csvs[1], csvs[2]);
}

// `extends:` layers a config on its base: top-level keys replace (and leave the base's sweep),
// net: entries replace one by one, sweep axes replace by key and come first, encodings and the
// pool carry over, the name does not; errors name the file they are in.
TEST(Runner, ExtendsLayersAConfigOnItsBase) {
  std::string dir = dir_for("extends");
  const std::string base = write_config(dir, kSweep);
  auto write = [&](const std::string& name, const std::string& body) {
    const std::string path = dir + "/" + name + ".yaml";
    std::ofstream(path) << body;
    return path;
  };
  RunConfig child = load_run_config(write("child", "extends: " + base +
                                                       "\nrequests: 2\nnet:\n  rtt_ms: 5\n"
                                                       "sweep:\n  net.bandwidth_gbps: [1]\n"
                                                       "  slo_s: [0.1, 0.3]\n"));
  EXPECT_EQ(child.name, "child");
  EXPECT_EQ(child.axis_names,
            (std::vector<std::string>{"net.bandwidth_gbps", "slo_s", "controller"}));
  ASSERT_EQ(child.points.size(), 8u);
  EXPECT_EQ(child.encodings.size(), 3u);
  const RunPoint& first = child.points.front();
  EXPECT_EQ(first.run.integer("requests"), 2);
  EXPECT_EQ(first.run.integer("context_tokens"), 600);
  EXPECT_EQ(first.net.at("rtt_ms"), "5");
  EXPECT_EQ(first.net.at("bandwidth_gbps"), "1");
  EXPECT_EQ(first.run.number("slo_s"), 0.1);

  // A key set at the top level takes it out of the base's sweep.
  RunConfig fixed = load_run_config(write("fixed", "extends: " + base + "\ncontroller: quant\n"));
  EXPECT_EQ(fixed.axis_names, std::vector<std::string>{"net.bandwidth_gbps"});
  EXPECT_EQ(fixed.points.size(), 2u);
  // Nothing but the name changed: the same resolved config.
  RunConfig same = load_run_config(write("same", "extends: " + base + "\nname: t\n"));
  EXPECT_EQ(same.resolved_yaml, load_run_config(base).resolved_yaml);

  auto error_of = [&](const std::string& path) -> std::string {
    try {
      load_run_config(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string typo = write("typo", "extends: " + base + "\ncontxt_tokens: 5\n");
  EXPECT_NE(error_of(typo).find(typo + " line 2: unknown key 'contxt_tokens'"), std::string::npos)
      << error_of(typo);
  const std::string broken_base = write("broken", "name: b\nslo_s: -1\n");
  const std::string on_broken = write("on_broken", "extends: " + broken_base + "\n");
  EXPECT_NE(error_of(on_broken).find(broken_base + " line 2: key 'slo_s'"), std::string::npos)
      << error_of(on_broken);
  write("a", "extends: " + dir + "/b.yaml\n");
  const std::string b = write("b", "extends: " + dir + "/a.yaml\n");
  EXPECT_NE(error_of(b).find("makes a cycle"), std::string::npos) << error_of(b);
  const std::string missing = write("missing", "name: m\nextends: /no/such/base.yaml\n");
  EXPECT_NE(error_of(missing).find(missing + " line 2: key 'extends': /no/such/base.yaml: not "
                                             "a file"),
            std::string::npos)
      << error_of(missing);
}

// Each bad config gives one error naming the file, the line and the key (and the choices).
TEST(Runner, InvalidConfigsNameFileLineAndKey) {
  std::string dir = dir_for("errors");
  struct Case {
    std::string body, expected;
  };
  const std::vector<Case> cases = {
      {"contxt_tokens: 5\n",
       "line 5: unknown key 'contxt_tokens' (did you mean 'context_tokens'?); valid: name, model"},
      {"context_tokens: many\n",
       "line 5: key 'context_tokens': option 'context_tokens'="
       "'many' is not an integer"},
      {"context_tokens: 4\n",
       "line 5: key 'context_tokens': option 'context_tokens'='4' "
       "is outside [16"},
      {"controller: bola\n", "line 5: key 'controller': unknown controller 'bola'; valid: "},
      {"controller: \"cachegen:speed=2\"\n",
       "line 5: key 'controller': controller 'cachegen': unknown option 'speed'; valid: "
       "prior_mbps, window"},
      {"encodings:\n  z: zip\n", "line 6: key 'encodings.z': encoding 'z': unknown codec 'zip'"},
      {"encoding: cg9\n",
       "line 5: key 'encoding': no encoding 'cg9' in encodings; valid: quant8, cg3"},
      {"network: carrier-pigeon\n", "line 5: key 'network': unknown network model"},
      {"net.trace: /no/such/trace.csv\n",
       "line 5: key 'net.trace': network model 'fluid': option 'trace'='/no/such/trace.csv' is "
       "not a file"},
      {"net.bandwidth: 3\n", "(did you mean 'bandwidth_gbps'?)"},
      {"net:\n  loss_rate: 0.9\n",
       "line 6: key 'net.loss_rate': network model 'fluid': option "
       "'loss_rate'='0.9' is outside [0, 0.5]"},
      {"slo_s: 0\n", "line 5: key 'slo_s': option 'slo_s'='0' is outside [1e-09"},
      {"dataset: wiki\n", "line 5: key 'dataset': model 'synthetic' has no text"},
      {"sweep:\n  bandwidth: [1, 2]\n",
       "line 6: unknown key 'bandwidth'; valid: name, model, hardware"},
      {"sweep:\n  slo_s: [1, -2]\n", "line 6: key 'slo_s': option 'slo_s'='-2' is outside"},
      {"sweep:\n  net.rtt_ms: 5\n", "line 6: key 'sweep.net.rtt_ms' must be a non-empty list"},
      // Found by fuzz_run_config: a mapping inside a sweep list threw a yaml-cpp exception.
      {"sweep:\n  net.rtt_ms: [1, {a: 2}]\n",
       "line 6: each value of 'sweep.net.rtt_ms' must be a single value, not a list or mapping"},
      {"encodings:\n  q: [quant]\n", "line 6: key 'encodings.q' must be a single value"},
      // Found by fuzz_run_config (a run that timed out): repeated sweep keys multiplied.
      {"sweep:\n  net.rtt_ms: [1, 2]\n  net.rtt_ms: [3]\n",
       "line 7: key 'sweep.net.rtt_ms' is listed twice"},
      // Found by fuzz_run_config: a path too long for the file system threw filesystem_error.
      {"net.trace: " + std::string(5000, 'x') + "\n",
       "line 5: key 'net.trace': network model "
       "'fluid': option 'trace'='xxx"},
      // Spellings of earlier versions name their new key.
      {"bandwidth_gbps: 1\n", "line 5: key 'bandwidth_gbps' is now 'net.bandwidth_gbps'"},
      {"sweep:\n  rtt_ms: [1, 2]\n", "line 6: key 'rtt_ms' is now 'net.rtt_ms'"},
      {"level: cg1\n", "line 5: key 'level' is now 'encoding'"},
      {"levels:\n  a: quant\n", "line 5: key 'levels' is now 'encodings'"},
  };
  for (const Case& c : cases) {
    std::string path = write_config(dir, c.body);
    try {
      load_run_config(path);
      ADD_FAILURE() << "no error for: " << c.body;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(c.expected), std::string::npos) << message << "\nfor: " << c.body;
    }
  }
  try {
    load_run_config(dir + "/missing.yaml");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.yaml: no such file"), std::string::npos);
  }
}

// configs/README.md documents exactly the run keys that run_options() declares.
TEST(Runner, ConfigReadmeListsEveryRunKey) {
  const std::string readme = read(CACHEGEN_SOURCE_DIR "/configs/README.md");
  const size_t begin = readme.find("**Run keys**"), end = readme.find("- **", begin + 1);
  ASSERT_NE(begin, std::string::npos);
  std::vector<std::string> documented;
  std::istringstream lines(readme.substr(begin, end - begin));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) == 0)
      documented.push_back(line.substr(3, line.find('`', 3) - 3));
  }
  std::vector<std::string> declared;
  for (const OptionSpec& spec : run_options())
    declared.push_back(spec.name);
  EXPECT_EQ(documented, declared);
}

// Every sweep config the repository ships loads and validates (keys, plug-in names and their
// options), as the scripts run them from the repository root. Loading checks that files exist
// and parses some (codec profiles, calibrations); files under results/ that scripts make and
// this checkout lacks are stood in for by empty files in a scratch copy of the root, and a
// config may then fail only at such a stand-in's contents, or for a plug-in this build left out
// (ns3, torch models).
TEST(Runner, EveryShippedConfigLoads) {
  const fs::path source = CACHEGEN_SOURCE_DIR;
  const fs::path root = dir_for("shipped-configs");
  for (const char* entry : {"configs", "models", "experiments"})
    fs::create_directory_symlink(source / entry, root / entry);
  // results/: the checkout's files linked one by one, so that stand-ins stay in the scratch copy.
  for (const auto& entry : fs::recursive_directory_iterator(source / "results")) {
    const fs::path mirrored = root / fs::relative(entry.path(), source);
    if (entry.is_directory())
      fs::create_directories(mirrored);
    else
      fs::create_symlink(entry.path(), mirrored);
  }
  std::vector<std::string> stand_ins;
  const fs::path cwd = fs::current_path();
  fs::current_path(root);
  int loaded = 0;
  std::vector<std::string> failures;
  for (const auto& entry : fs::recursive_directory_iterator(source / "configs")) {
    const std::string relative = fs::relative(entry.path(), source).string();
    // Sweep configs only: not hardware profiles, model-training configs or traces.
    if (entry.path().extension() != ".yaml" || relative.rfind("configs/hardware/", 0) == 0 ||
        relative.rfind("configs/models/", 0) == 0 || relative.find("/traces/") != std::string::npos)
      continue;
    for (int attempt = 0; attempt < 20; ++attempt) {
      try {
        load_run_config(relative);
        ++loaded;
        break;
      } catch (const Error& e) {
        const std::string message = e.what();
        const size_t at = message.find("='results/");
        if (at != std::string::npos && message.find("is not a file", at) != std::string::npos) {
          const fs::path stand_in = message.substr(at + 2, message.find('\'', at + 2) - at - 2);
          fs::create_directories(stand_in.parent_path());
          std::ofstream{stand_in};
          stand_ins.push_back(stand_in.string());
          continue;  // load again: the next missing file, or the rest of the checks
        }
        const bool at_a_stand_in =
            std::any_of(stand_ins.begin(), stand_ins.end(), [&](const std::string& path) {
              return message.find("'" + path + "'") != std::string::npos;
            });
        const bool plugin_left_out =
            message.find("unknown network model 'ns3'") != std::string::npos ||
            message.find("unknown language model '") != std::string::npos;
        if (!at_a_stand_in && !plugin_left_out)
          failures.push_back(relative + ": " + message);
        break;
      }
    }
  }
  fs::current_path(cwd);
  EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures);
  EXPECT_GE(loaded, 10);
}

}  // namespace
}  // namespace cachegen
