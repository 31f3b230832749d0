#include "cachegen/experiments/provenance.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "cachegen/core/build_info.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"
#include "cachegen/core/options.h"
#include "cachegen/core/registry.h"
#include "cachegen/core/sha256.h"
#include "cachegen/experiments/hardware_profile_io.h"
#if CACHEGEN_HAVE_TORCH
#include "cachegen/models/named_checkpoints.h"
#endif

namespace cachegen {

namespace fs = std::filesystem;

namespace {
void collect_scalars(const YAML::Node& node, std::vector<std::string>& out) {
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence() || node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (node.IsMap()) {
        collect_scalars(it->first, out);
        collect_scalars(it->second, out);
      } else {
        collect_scalars(*it, out);
      }
    }
  }
}

bool is_file(const std::string& path) {
  std::error_code error;
  return !path.empty() && path.size() < 4096 && fs::is_regular_file(path, error);
}

// A checkpoint directory's files that define the model: *.json and *.safetensors.
void add_checkpoint(const std::string& label, const std::string& dir,
                    std::map<std::string, std::string>& files) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file(error) && (ext == ".json" || ext == ".safetensors"))
      files.emplace(label + "/" + name, entry.path().string());
  }
}

// Files that a hardware profile reads besides itself (its GPU decode rates).
void add_profile_inputs(const std::string& path, std::map<std::string, std::string>& files) {
  const std::string ext = fs::path(path).extension().string();
  if (ext != ".yaml" && ext != ".yml")
    return;
  try {
    const YAML::Node rates = YAML::LoadFile(path)["gpu"]["decode_rates"];
    if (!rates.IsScalar())
      return;
    const std::string rates_path = profile_relative_path(path, rates.Scalar());
    if (is_file(rates_path))
      files.emplace(rates_path, rates_path);
  } catch (const YAML::Exception&) {
    // not YAML, or not a map: not a hardware profile
  }
}

// One config value: a path, or a plug-in spec "name[:key=value;...]" whose file options (given
// or by default) name files, or a named checkpoint.
void add_inputs_of(const std::string& value, std::map<std::string, std::string>& files) {
  if (is_file(value)) {
    files.emplace(value, value);
    add_profile_inputs(value, files);
    return;
  }
  std::error_code error;
  if (value.size() < 4096 && fs::is_directory(value, error) &&
      fs::is_regular_file(value + "/config.json", error)) {
    add_checkpoint(value, value, files);
    return;
  }
  const size_t colon = value.find(':');
  const std::string name = value.substr(0, colon);
  Options given;
  if (colon != std::string::npos) {
    try {
      given = Options::parse(value.substr(colon + 1), name);
    } catch (const Error&) {
      return;  // not a plug-in spec
    }
  }
  for (const auto& [key, text] : given.values()) {
    if (is_file(text))
      files.emplace(text, text);
  }
  for (const RegistryBase* registry : registry_directory()) {
    if (!registry->contains(name))
      continue;
    for (const OptionSpec& spec : registry->info(name).options) {
      if (spec.type == OptionType::kFile && !given.has(spec.name) && is_file(spec.default_text))
        files.emplace(spec.default_text, spec.default_text);
    }
  }
#if CACHEGEN_HAVE_TORCH
  for (const NamedCheckpoint& checkpoint : named_checkpoints()) {
    if (checkpoint.name == name && fs::is_directory(checkpoint.directory, error))
      add_checkpoint(name, checkpoint.directory, files);
  }
#endif
}

// The first input whose hash differs between two {path: sha256} maps, or "".
std::string changed_input(const nlohmann::json& before, const nlohmann::json& now) {
  for (auto it = before.begin(); it != before.end(); ++it) {
    if (!now.contains(it.key()))
      return it.key() + " (no longer an input)";
    if (now[it.key()] != it.value()) {
      return it.key() + " (sha256 " + it.value().get<std::string>() + " then, " +
             now[it.key()].get<std::string>() + " now)";
    }
  }
  for (auto it = now.begin(); it != now.end(); ++it) {
    if (!before.contains(it.key()))
      return it.key() + " (a new input)";
  }
  return "";
}
}  // namespace

nlohmann::ordered_json build_provenance() {
  const BuildInfo& info = build_info();
  nlohmann::ordered_json b;
  b["revision"] = info.revision;
  b["dirty"] = info.dirty;
  b["compiler"] = info.compiler;
  const std::string torch = CACHEGEN_TORCH_VERSION, ns3 = CACHEGEN_NS3_VERSION;
  b["torch"] = torch.empty() ? "none" : torch;
  b["ns3"] = ns3.empty() ? "none" : ns3;
  return b;
}

nlohmann::ordered_json input_hashes(const RunConfig& config) {
  std::vector<std::string> scalars;
  collect_scalars(YAML::Load(config.resolved_yaml), scalars);
  std::map<std::string, std::string> files;  // label -> path
  for (const std::string& value : scalars)
    add_inputs_of(value, files);
  nlohmann::ordered_json hashes = nlohmann::ordered_json::object();
  for (const auto& [label, path] : files)
    hashes[label] = sha256_file(path);
  return hashes;
}

namespace {
void add_build(nlohmann::ordered_json& builds, const nlohmann::ordered_json& build) {
  if (std::find(builds.begin(), builds.end(), build) == builds.end())
    builds.push_back(build);
}

void write_provenance(const std::string& out_dir, const nlohmann::ordered_json& record) {
  const std::string text = record.dump(2) + "\n";
  write_file_atomic(out_dir + "/provenance.json", std::vector<uint8_t>(text.begin(), text.end()));
}
}  // namespace

nlohmann::ordered_json read_provenance(const std::string& dir) {
  const std::string path = dir + "/provenance.json";
  if (!fs::exists(path))
    return nullptr;
  std::vector<uint8_t> bytes = read_file(path);
  nlohmann::ordered_json record;
  try {
    record = nlohmann::ordered_json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  if (!record.is_object() || !record.contains("inputs") || !record.contains("builds") ||
      !record["builds"].is_array())
    fail(path, ": expected an object with 'inputs' and a list 'builds'");
  return record;
}

nlohmann::ordered_json record_provenance(const RunConfig& config, const std::string& out_dir,
                                         int64_t rows_before, bool accept_changed_inputs) {
  nlohmann::ordered_json record;
  record["inputs"] = input_hashes(config);
  record["builds"] = nlohmann::ordered_json::array();
  const nlohmann::ordered_json old = read_provenance(out_dir);
  if (!old.is_null()) {
    const std::string changed = changed_input(old["inputs"], record["inputs"]);
    if (!changed.empty() && !accept_changed_inputs) {
      fail(out_dir, ": an input changed since this run's rows were written: ", changed,
           "; start a new --out, or pass --accept-changed-inputs to go on and record the change");
    }
    record["builds"] = old["builds"];
    if (old.contains("input_changes"))
      record["input_changes"] = old["input_changes"];
    if (!changed.empty()) {
      // Which rows came before the change: the first rows_before rows of runs.csv.
      nlohmann::ordered_json change;
      change["rows_before"] = rows_before;
      change["then"] = old["inputs"];
      change["build"] = build_provenance();
      record["input_changes"].push_back(change);
    }
  }
  add_build(record["builds"], build_provenance());
  write_provenance(out_dir, record);
  return record;
}

void merge_provenance(const std::vector<std::string>& shard_dirs, const std::string& out_dir) {
  nlohmann::ordered_json merged;
  for (const std::string& dir : shard_dirs) {
    nlohmann::ordered_json shard = read_provenance(dir);
    if (shard.is_null())
      return;
    if (merged.is_null()) {
      merged = shard;
      continue;
    }
    if (shard["inputs"] != merged["inputs"])
      fail("merge: ", dir, "/provenance.json names other inputs than ", shard_dirs[0]);
    for (const auto& build : shard["builds"])
      add_build(merged["builds"], build);
    // (rows_before counts that shard's rows)
    if (shard.contains("input_changes")) {
      for (const auto& change : shard["input_changes"])
        merged["input_changes"].push_back(change);
    }
  }
  write_provenance(out_dir, merged);
}

}  // namespace cachegen
