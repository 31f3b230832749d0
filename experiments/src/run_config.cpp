#include "cachegen/experiments/run_config.h"

#include <filesystem>
#include <set>

#include "cachegen/codec/registry.h"
#include "cachegen/core/controller.h"
#include "cachegen/core/error.h"
#include "cachegen/core/yaml_config.h"
#include "cachegen/experiments/datasets.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/netsim/registry.h"

namespace cachegen {

namespace {
// The keys that take one value and can be swept.
const std::vector<std::string> kScalarKeys = {
    "name",           "model",          "hardware",     "timing",          "dataset",
    "dataset_path",   "context_tokens", "chunk_tokens", "question_tokens", "eval_tokens",
    "max_new_tokens", "controller",     "level",        "codec",           "network",
    "bandwidth_gbps", "trace",          "rtt_ms",       "slo_s",           "overlap",
    "seed",           "requests",       "threads"};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Splits "name:key=value;..." into name and options.
std::pair<std::string, std::string> split_plugin(const std::string& text) {
  const size_t colon = text.find(':');
  return {text.substr(0, colon), colon == std::string::npos ? "" : text.substr(colon + 1)};
}

bool is_file(const std::string& path) {
  std::error_code error;  // a name too long or otherwise unusable is just not a file
  return std::filesystem::is_regular_file(path, error);
}

// Reads one point's settings from `node` (the top level with the sweep's values put in).
RunPoint parse_point(const YAML::Node& node, const RunConfig& config) {
  YamlMap m(node, "", config.source);
  for (const char* key : {"levels", "net", "sweep"})
    m.allow(key);
  RunPoint p;
  m.get<std::string>("name", "");
  p.model = m.get<std::string>("model", p.model);
  p.hardware = m.get<std::string>("hardware", p.hardware);
  p.timing = parse_compute_timing(
      m.get_choice("timing", compute_timing_name(p.timing), {"measured", "profile"}));
  p.dataset = m.get_choice("dataset", p.dataset, dataset_names());
  p.dataset_path = m.get<std::string>("dataset_path", "");
  p.context_tokens = static_cast<int64_t>(m.get_number("context_tokens", 1024, 16, 1 << 24));
  p.chunk_tokens = static_cast<int64_t>(m.get_number("chunk_tokens", 1536, 1, 1 << 24));
  p.question_tokens = static_cast<int64_t>(m.get_number("question_tokens", 32, 1, 1 << 20));
  p.eval_tokens = static_cast<int64_t>(m.get_number("eval_tokens", 128, 2, 1 << 20));
  p.max_new_tokens = static_cast<int64_t>(m.get_number("max_new_tokens", 16, 1, 4096));
  p.controller = m.get<std::string>("controller", p.controller);
  p.level = m.get<std::string>("level", "");
  p.codec = m.get<std::string>("codec", "");
  p.network = m.get<std::string>("network", p.network);
  p.bandwidth_gbps = m.get_number("bandwidth_gbps", p.bandwidth_gbps, 1e-6, 1e6);
  p.trace = m.get<std::string>("trace", "");
  p.rtt_ms = m.get_number("rtt_ms", p.rtt_ms, 0.001, 1e6);
  p.slo_s = m.get<double>("slo_s", p.slo_s);
  p.overlap = m.get<bool>("overlap", true);
  p.seed = static_cast<uint64_t>(m.get_number("seed", 1, 0, 1e15));
  p.requests = static_cast<int64_t>(m.get_number("requests", 1, 1, 1e9));
  p.threads = static_cast<int>(m.get_number("threads", 0, 0, 1024));
  m.finish();

  // Values that name things: each must exist.
  auto at = [&](const std::string& key) { return m.at(node[key]) + "key '" + key + "': "; };
  if (!(p.slo_s > 0))
    fail(at("slo_s"), "the SLO must be positive, not ", p.slo_s);
  const auto [controller, controller_options] = split_plugin(p.controller);
  if (!controller_registry().contains(controller)) {
    fail(at("controller"), "unknown controller '", controller,
         "'; valid: ", controller_registry().joined_names());
  }
  try {
    make_controller(p.controller_name(), Options::parse(p.controller_options(), "controller"));
  } catch (const Error& e) {
    fail(at(p.level.empty() ? "controller" : "level"), e.what());
  }
  std::vector<std::string> level_names, codecs;
  for (const LevelSpec& level : config.levels) {
    level_names.push_back(level.name);
    codecs.push_back(level.codec);
  }
  if (!p.level.empty() &&
      std::find(level_names.begin(), level_names.end(), p.level) == level_names.end()) {
    fail(at("level"), "no level '", p.level, "' in levels; valid: ", joined(level_names));
  }
  if (!p.codec.empty() && std::find(codecs.begin(), codecs.end(), p.codec) == codecs.end())
    fail(at("codec"), "no level uses codec '", p.codec, "'; the levels' codecs: ", joined(codecs));
  if (!network_registry().contains(p.network)) {
    fail(at("network"), "unknown network model '", p.network,
         "'; valid: ", network_registry().joined_names());
  }
  if (!p.trace.empty() && !is_file(p.trace))
    fail(at("trace"), "no such file: ", p.trace);
  if (!p.hardware.empty()) {
    if (!is_file(p.hardware))
      fail(at("hardware"), "no such file: ", p.hardware);
    load_hardware_profile(p.hardware);
  }
  if (p.timing == ComputeTiming::kProfile && p.hardware.empty())
    fail(at("timing"), "timing 'profile' needs a hardware profile (key 'hardware')");
  if (p.model == "synthetic") {
    if (p.hardware.empty())
      fail(at("model"), "model 'synthetic' takes its KV shape from key 'hardware'; none given");
    if (p.timing == ComputeTiming::kMeasured)
      fail(at("model"), "model 'synthetic' has no model to measure: set timing: profile");
    if (p.dataset != "line_retrieval" && node["dataset"])
      fail(at("dataset"), "model 'synthetic' has no text: leave 'dataset' out");
  } else if (p.model != "builtin" && !is_file(p.model + "/config.json")) {
    fail(at("model"), "'", p.model, "' is not builtin, synthetic, or a checkpoint directory ",
         "with config.json");
  }
  if (dataset_needs_file(p.dataset) && p.model != "synthetic") {
    if (p.dataset_path.empty())
      fail(m.at(node["dataset"]), "dataset '", p.dataset, "' needs key 'dataset_path'");
    if (!is_file(p.dataset_path))
      fail(at("dataset_path"), "no such file: ", p.dataset_path);
  }
  return p;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> RunPoint::settings() const {
  auto num = [](double v) { return str(v); };
  return {{"model", model},
          {"hardware", hardware},
          {"timing", compute_timing_name(timing)},
          {"dataset", dataset},
          {"dataset_path", dataset_path},
          {"context_tokens", num(static_cast<double>(context_tokens))},
          {"chunk_tokens", num(static_cast<double>(chunk_tokens))},
          {"question_tokens", num(static_cast<double>(question_tokens))},
          {"eval_tokens", num(static_cast<double>(eval_tokens))},
          {"max_new_tokens", num(static_cast<double>(max_new_tokens))},
          {"controller", controller},
          {"level", level},
          {"codec", codec},
          {"network", network},
          {"bandwidth_gbps", num(bandwidth_gbps)},
          {"trace", trace},
          {"rtt_ms", num(rtt_ms)},
          {"slo_s", num(slo_s)},
          {"overlap", overlap ? "true" : "false"},
          {"seed", num(static_cast<double>(seed))},
          {"requests", num(static_cast<double>(requests))},
          {"threads", num(threads)}};
}

std::string RunPoint::controller_name() const {
  return level.empty() ? split_plugin(controller).first : "fixed";
}

std::string RunPoint::controller_options() const {
  return level.empty() ? split_plugin(controller).second : "level=" + level;
}

std::vector<LevelSpec> RunConfig::levels_for(const RunPoint& point) const {
  std::vector<LevelSpec> out;
  for (const LevelSpec& level : levels) {
    if (point.codec.empty() || level.codec == point.codec || level.name == point.level)
      out.push_back(level);
  }
  return out;
}

RunConfig load_run_config(const std::string& path) {
  YAML::Node root = load_yaml_file(path);
  RunConfig config;
  config.source = path;
  YamlMap top(root, "", path);
  config.name = top.get<std::string>("name", std::filesystem::path(path).stem().string());

  // levels: name -> "codec[:key=value;...]", best quality first.
  YAML::Node levels = top.child("levels");
  if (levels && !levels.IsMap())
    fail(top.at(levels), "'levels' must map level names to codec specs");
  if (levels) {
    for (auto it = levels.begin(); it != levels.end(); ++it) {
      const auto name = yaml_scalar(it->first, path, "a level name");
      LevelSpec spec =
          parse_level_spec(name + "=" + yaml_scalar(it->second, path, "key 'levels." + name + "'"));
      try {
        make_store_levels({spec}, 1);
      } catch (const Error& e) {
        fail(top.at(it->second), "key 'levels.", name, "': ", e.what(),
             "; valid codecs: ", codec_registry().joined_names());
      }
      config.levels.push_back(spec);
    }
  } else {
    config.levels = default_levels();
  }
  YAML::Node net = top.child("net");
  if (net) {
    if (!net.IsMap())
      fail(top.at(net), "'net' must map network option names to values");
    for (auto it = net.begin(); it != net.end(); ++it) {
      const auto key = yaml_scalar(it->first, path, "a network option name");
      config.net_options[key] = yaml_scalar(it->second, path, "key 'net." + key + "'");
    }
  }

  // The sweep: key -> list of values.
  YAML::Node sweep = top.child("sweep");
  std::vector<std::vector<YAML::Node>> values;
  if (sweep) {
    if (!sweep.IsMap())
      fail(top.at(sweep), "'sweep' must map keys to lists of values");
    for (auto it = sweep.begin(); it != sweep.end(); ++it) {
      const auto key = yaml_scalar(it->first, path, "a sweep key");
      if (std::find(kScalarKeys.begin(), kScalarKeys.end(), key) == kScalarKeys.end() ||
          key == "name") {
        fail(top.at(it->first), "unknown sweep key 'sweep.", key,
             "'; valid: ", joined(kScalarKeys));
      }
      if (!it->second.IsSequence() || it->second.size() == 0)
        fail(top.at(it->second), "key 'sweep.", key, "' must be a non-empty list");
      if (std::find(config.axis_names.begin(), config.axis_names.end(), key) !=
          config.axis_names.end()) {
        fail(top.at(it->first), "key 'sweep.", key, "' is listed twice");
      }
      config.axis_names.push_back(key);
      values.emplace_back(it->second.begin(), it->second.end());
      for (const YAML::Node& v : values.back())
        yaml_scalar(v, path, "each value of 'sweep." + key + "'");
    }
  }
  // Cartesian product, last axis fastest; bounded so that a typo cannot ask for a vast sweep.
  constexpr double kMaxPoints = 100000;
  double product = 1;
  for (const auto& axis : values)
    product *= static_cast<double>(axis.size());
  if (product > kMaxPoints) {
    fail(top.at(sweep), "'sweep' makes ", product, " points, more than ", kMaxPoints,
         "; split it into several configs");
  }
  std::vector<size_t> at(values.size(), 0);
  for (int64_t index = 0;; ++index) {
    // The top level with the sweep's values put in (nodes shared, so errors keep their lines).
    YAML::Node point_node(YAML::NodeType::Map);
    for (auto it = root.begin(); it != root.end(); ++it)
      point_node[it->first] = it->second;
    RunPoint point;
    std::vector<std::pair<std::string, std::string>> axes;
    for (size_t a = 0; a < values.size(); ++a) {
      point_node[config.axis_names[a]] = values[a][at[a]];
      axes.emplace_back(config.axis_names[a], values[a][at[a]].as<std::string>());
    }
    point = parse_point(point_node, config);
    point.index = index;
    point.axes = std::move(axes);
    config.points.push_back(std::move(point));
    size_t a = values.size();
    while (a > 0 && ++at[a - 1] == values[a - 1].size())
      at[--a] = 0;
    if (a == 0)
      break;
  }

  // The resolved config: every key's value or default, then the levels and the sweep.
  YAML::Emitter out;
  out << YAML::BeginMap;
  // Unswept keys: their value (the first point's); swept keys: listed under sweep.
  out << YAML::Key << "name" << YAML::Value << config.name;
  for (const auto& [key, value] : config.points.front().settings()) {
    if (std::find(config.axis_names.begin(), config.axis_names.end(), key) ==
        config.axis_names.end())
      out << YAML::Key << key << YAML::Value << value;
  }
  out << YAML::Key << "levels" << YAML::Value << YAML::BeginMap;
  for (const LevelSpec& l : config.levels)
    out << YAML::Key << l.name << YAML::Value << format_level_spec(l).substr(l.name.size() + 1);
  out << YAML::EndMap;
  out << YAML::Key << "net" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : config.net_options)
    out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
  out << YAML::Key << "sweep" << YAML::Value << YAML::BeginMap;
  for (size_t a = 0; a < values.size(); ++a) {
    out << YAML::Key << config.axis_names[a] << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const YAML::Node& v : values[a])
      out << v.as<std::string>();
    out << YAML::EndSeq;
  }
  out << YAML::EndMap << YAML::EndMap;
  config.resolved_yaml = std::string(out.c_str()) + "\n";
  return config;
}

}  // namespace cachegen
