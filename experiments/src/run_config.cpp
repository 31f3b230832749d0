#include "cachegen/experiments/run_config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "cachegen/codec/registry.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/core/yaml_config.h"
#include "cachegen/experiments/hardware_profile_io.h"
#include "cachegen/stream/controller.h"
#include "context_compression.h"

namespace cachegen {

const OptionSchema& run_options() {
  static const OptionSchema schema = {
      text_option("name", "", "results go to results/runs/NAME/ unless --out (default: file stem)"),
      text_option("model", "builtin",
                  "builtin, a language model NAME[:KEY=VALUE;...] (llama:path=DIR), a checkpoint "
                  "directory, or synthetic (KV of the hardware profile's model shape, no text)"),
      file_option("hardware",
                  "hardware profile (configs/hardware/): times for timing: profile, KV shape for "
                  "synthetic"),
      choice_option("timing", "measured", {"measured", "profile"},
                    "measured: the real codec and model here, timed; profile: the hardware "
                    "profile's times (the real work still runs, for quality)"),
      number_option("prefill_efficiency", 0, 0, 1,
                    "timing profile: share of the GPU's peak a prefill reaches (0: the profile's "
                    "utilisation); swept for the TTFT figures' sensitivity band"),
      number_option("decode_time_scale", 1, 0.01, 100,
                    "timing profile: every decode time multiplied by this (sensitivity band)"),
      text_option("dataset", "line_retrieval",
                  "a dataset NAME[:KEY=VALUE;...], e.g. text:path=FILE (`cachegen list`)"),
      integer_option("context_tokens", 1024, 16, 1 << 24,
                     "tokens of context (file contexts longer than this are cut)"),
      integer_option("chunk_tokens", 1536, 1, 1 << 24, "tokens per chunk (the paper's 1.5K)"),
      integer_option("question_tokens", 32, 1, 1 << 20,
                     "question length for synthetic (priced by the profile)"),
      integer_option("eval_tokens", 128, 2, 1 << 20,
                     "text datasets: tokens scored after the context"),
      integer_option("max_new_tokens", 16, 1, 4096, "QA datasets: longest answer generated"),
      text_option("controller", "cachegen",
                  "a controller NAME[:KEY=VALUE;...]: cachegen, fixed:encoding=E, quant, text, "
                  "oracle"),
      text_option("encoding", "",
                  "a store encoding's name: the fixed controller on it (overrides controller)"),
      text_option("codec", "",
                  "store only the encodings of this codec (all, or empty: every encoding)"),
      text_option("compression", "none",
                  "context compression before the codec: none, h2o:keep=F[;recent=F][;select="
                  "head|layer|model], llmlingua:keep=F[;segment=N] (context_compression.h)"),
      text_option("network", "fluid", "the network model (its options are the net.* keys)"),
      number_option("slo_s", 1, 1e-9, 1e9, "TTFT objective; rows say whether it was met"),
      bool_option("overlap", true, "transfers overlap the GPU work of earlier chunks"),
      integer_option("seed", 1, 0, int64_t{1} << 50,
                     "request r of every point uses seed + r (its context)"),
      integer_option("requests", 1, 1, 1'000'000'000, "requests per point"),
      integer_option("threads", 0, 0, 1024, "CPU threads for codecs and the model (0: all)")};
  return schema;
}

namespace {
constexpr const char* kNetPrefix = "net.";

// Spellings of earlier versions, and what they are now.
const std::map<std::string, std::string>& moved_keys() {
  static const std::map<std::string, std::string> moved = {
      {"bandwidth_gbps", "net.bandwidth_gbps"},
      {"trace", "net.trace"},
      {"rtt_ms", "net.rtt_ms"},
      {"level", "encoding"},
      {"levels", "encodings"},
      {"dataset_path", "dataset: \"NAME:path=FILE\""}};
  return moved;
}

bool is_net_key(const std::string& key) {
  return key.rfind(kNetPrefix, 0) == 0 && key.size() > 4;
}

// The keys a config may set or sweep: run keys and net.* keys.
void check_key(const YamlMap& top, const YAML::Node& key_node, const std::string& key) {
  auto moved = moved_keys().find(key);
  if (moved != moved_keys().end())
    fail(top.at(key_node), "key '", key, "' is now '", moved->second, "'");
  if (is_net_key(key))
    return;
  std::vector<std::string> valid;
  for (const OptionSpec& spec : run_options())
    valid.push_back(spec.name);
  if (std::find(valid.begin(), valid.end(), key) == valid.end())
    fail(top.at(key_node), unknown_name_message("key", key, valid), ", net.KEY");
}

// Checks that a plug-in spec names a registered plug-in with valid options; errors at `where`.
template <typename Check>
void at_node(const std::string& where, Check check) {
  try {
    check();
  } catch (const Error& e) {
    fail(where, e.what());
  }
}

// `extends: BASE`: the file is BASE's config (itself loaded and validated first, with its own
// bases) with this file's keys on top. A top-level key replaces BASE's value and takes the key out
// of BASE's sweep; `net:` entries replace BASE's net.KEY one by one; `sweep:` axes replace
// BASE's axes of the same key and come first, in this file's order, then BASE's other axes, which
// also leave the sweep where this file sets the key at the top level; `encodings:` and `pool:`
// replace BASE's (a pooled key that is no longer swept is dropped); `name` is never inherited.
YAML::Node with_base(const YAML::Node& root, const std::string& path,
                     std::vector<std::string>& chain);

// Loads and validates `path` (`chain`: the files that extend it, for cycles); `merged`, if given,
// receives its mapping with its bases merged in.
RunConfig load_run_config_in(const std::string& path, std::vector<std::string>& chain,
                             YAML::Node* merged = nullptr);

YAML::Node with_base(const YAML::Node& root, const std::string& path,
                     std::vector<std::string>& chain) {
  const YAML::Node& const_root = root;
  const YAML::Node extends = const_root["extends"];
  if (!extends)
    return root;
  const std::string base_path = yaml_scalar(extends, path, "key 'extends'");
  // (error_code overloads: a path too long for the file system is a plain mismatch, not a throw)
  auto canonical = [](const std::string& file) {
    std::error_code ignored;
    const std::filesystem::path resolved = std::filesystem::weakly_canonical(file, ignored);
    return resolved.empty() ? std::filesystem::path(file) : resolved;
  };
  for (const std::string& file : chain) {
    if (canonical(file) == canonical(base_path))
      fail(path, " line ", extends.Mark().line + 1, ": 'extends: ", base_path, "' makes a cycle");
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(base_path, error)) {
    fail(path, " line ", extends.Mark().line + 1, ": key 'extends': ", base_path,
         ": not a file (paths are relative to where cachegen runs, as other paths)");
  }
  YAML::Node base;  // checked on its own first, so that its errors name its own file
  load_run_config_in(base_path, chain, &base);
  const YAML::Node& const_base = base;

  // This file's top-level keys (net: entries as net.KEY) and swept keys.
  std::set<std::string> set_here, swept_here;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = yaml_scalar(it->first, path, "a key");
    if (key == "net" && it->second.IsMap()) {
      for (auto n = it->second.begin(); n != it->second.end(); ++n)
        set_here.insert(kNetPrefix + yaml_scalar(n->first, path, "a network option name"));
    } else {
      set_here.insert(key);
    }
  }
  const YAML::Node sweep_here = const_root["sweep"];
  if (sweep_here && sweep_here.IsMap()) {
    for (auto it = sweep_here.begin(); it != sweep_here.end(); ++it)
      swept_here.insert(yaml_scalar(it->first, path, "a sweep key"));
  }

  YAML::Node merged(YAML::NodeType::Map);
  for (auto it = base.begin(); it != base.end(); ++it) {  // BASE's keys that stay
    const std::string key = it->first.as<std::string>();
    if (key == "name" || key == "extends" || key == "sweep" || key == "pool" ||
        key == "encodings" || set_here.count(key) || swept_here.count(key)) {
      continue;
    }
    if (key == "net") {  // (BASE is valid, so net: is a mapping)
      for (auto n = it->second.begin(); n != it->second.end(); ++n) {
        const std::string net_key = kNetPrefix + n->first.as<std::string>();
        if (!set_here.count(net_key) && !swept_here.count(net_key))
          merged[net_key] = n->second;
      }
      continue;
    }
    merged[it->first] = it->second;
  }
  if (!const_root["encodings"] && const_base["encodings"])
    merged["encodings"] = const_base["encodings"];
  for (auto it = root.begin(); it != root.end(); ++it) {  // this file's keys
    const std::string key = it->first.as<std::string>();
    if (key != "extends" && key != "sweep" && key != "pool")
      merged[it->first] = it->second;
  }
  YAML::Node sweep(YAML::NodeType::Map);
  if (sweep_here && sweep_here.IsMap()) {
    for (auto it = sweep_here.begin(); it != sweep_here.end(); ++it)
      sweep[it->first] = it->second;
  } else if (sweep_here) {
    merged["sweep"] = sweep_here;  // not a mapping: the loader reports it at its line
  }
  if (const_base["sweep"] && sweep.IsMap()) {
    for (auto it = const_base["sweep"].begin(); it != const_base["sweep"].end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (!swept_here.count(key) && !set_here.count(key))
        sweep[it->first] = it->second;
    }
  }
  if (!merged["sweep"] && sweep.size() > 0)
    merged["sweep"] = sweep;
  if (const_root["pool"]) {
    merged["pool"] = const_root["pool"];
  } else if (const_base["pool"]) {
    YAML::Node pool(YAML::NodeType::Sequence);
    const YAML::Node& const_sweep = sweep;
    for (const YAML::Node& key : const_base["pool"]) {
      if (const_sweep.IsMap() && const_sweep[key.as<std::string>()])
        pool.push_back(key);
    }
    if (pool.size() > 0)
      merged["pool"] = pool;
  }
  return merged;
}

// One point's settings from `values` (key -> node; net keys included).
RunPoint parse_point(const std::map<std::string, YAML::Node>& values, const RunConfig& config,
                     const YamlMap& top) {
  RunPoint p;
  std::map<std::string, std::string> run;
  for (const auto& [key, node] : values) {
    const std::string text = yaml_scalar(node, config.source, "key '" + key + "'");
    if (is_net_key(key))
      p.net[key.substr(4)] = text;
    else
      run[key] = text;
  }
  auto where = [&](const std::string& key) {
    auto it = values.find(key);
    return (it == values.end() ? config.source + ": " : top.at(it->second)) + "key '" + key + "': ";
  };
  // The run keys: types, ranges and files, each error at its key's line.
  for (const auto& setting : run)  // (lambdas cannot capture structured bindings in C++17)
    at_node(where(setting.first), [&] { Options({setting}, "").validate(run_options()); });
  p.run = Options(run, config.source);
  p.run.validate(run_options());

  // Values that name plug-ins: each must be registered, with valid options (each net.* key at
  // its line, then the network's rules across keys).
  const ModelSpec model = parse_model_spec(p.run.text("model"));
  const std::string network = p.run.text("network");
  at_node(where("network"), [&] { network_registry().info(network); });
  for (const auto& setting : p.net) {
    at_node(where(kNetPrefix + setting.first), [&] {
      Options({setting}, "network model '" + network + "'")
          .validate(network_registry().info(network).options);
    });
  }
  at_node(where("network"), [&] { network_registry().validated(network, Options(p.net, "")); });
  at_node(where(p.run.text("encoding").empty() ? "controller" : "encoding"),
          [&] { make_controller(p.controller_spec()); });
  std::vector<std::string> encoding_names, codecs;
  for (const EncodingSpec& encoding : config.encodings) {
    encoding_names.push_back(encoding.name);
    codecs.push_back(encoding.codec);
  }
  const std::string encoding = p.run.text("encoding"), codec = p.run.text("codec");
  if (!encoding.empty() &&
      std::find(encoding_names.begin(), encoding_names.end(), encoding) == encoding_names.end()) {
    fail(where("encoding"), "no encoding '", encoding,
         "' in encodings; valid: ", joined(encoding_names));
  }
  if (!codec.empty() && codec != "all" &&
      std::find(codecs.begin(), codecs.end(), codec) == codecs.end())
    fail(where("codec"), "no encoding uses codec '", codec,
         "'; the encodings' codecs: ", joined(codecs));
  const std::string hardware = p.run.text("hardware");
  if (!hardware.empty())
    at_node(where("hardware"), [&] { load_hardware_profile(hardware); });
  if (p.timing() == ComputeTiming::kProfile && hardware.empty())
    fail(where("timing"), "timing 'profile' needs a hardware profile (key 'hardware')");
  for (const char* key : {"prefill_efficiency", "decode_time_scale"}) {
    if (run.count(key) && p.timing() != ComputeTiming::kProfile)
      fail(where(key), "key '", key,
           "' changes the hardware profile's times: it needs "
           "timing: profile");
  }
  if (model.synthetic()) {
    at_node(where("model"), [&] { check_model_spec(model); });
    if (hardware.empty())
      fail(where("model"), "model 'synthetic' takes its KV shape from key 'hardware'; none given");
    if (p.timing() == ComputeTiming::kMeasured)
      fail(where("model"), "model 'synthetic' has no model to measure: set timing: profile");
    if (run.count("dataset"))
      fail(where("dataset"), "model 'synthetic' has no text: leave 'dataset' out");
    if (run.count("compression") && p.run.text("compression") != "none")
      fail(where("compression"), "model 'synthetic' has no model to compress its context with");
  } else {
    at_node(where("model"), [&] { check_model_spec(model); });
    CompressionSpec compression;
    at_node(where("compression"),
            [&] { compression = parse_compression_spec(p.run.text("compression")); });
    if (compression.kind == CompressionSpec::Kind::kH2o && p.run.text("encoding").empty())
      fail(where("compression"),
           "h2o keeps KV of tokens whose text cannot recompute it: "
           "stream it with a fixed encoding (key 'encoding')");
    const std::pair<std::string, std::string> dataset = split_plugin_spec(p.run.text("dataset"));
    at_node(where("dataset"), [&] {
      dataset_registry().validated(dataset.first, Options::parse(dataset.second, "dataset"));
    });
  }
  return p;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> RunPoint::settings() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const OptionSpec& spec : run_options()) {
    if (spec.name != "name" && spec.name != "seed" && spec.name != "threads")
      out.emplace_back(spec.name, run.value_text(spec.name));
  }
  for (const auto& [key, value] : net)
    out.emplace_back(kNetPrefix + key, value);
  return out;
}

std::string RunPoint::controller_spec() const {
  const std::string encoding = run.text("encoding");
  return encoding.empty() ? run.text("controller") : "fixed:encoding=" + encoding;
}

std::vector<EncodingSpec> RunConfig::encodings_for(const RunPoint& point) const {
  const std::string codec = point.run.text("codec"), encoding = point.run.text("encoding");
  std::vector<EncodingSpec> out;
  for (const EncodingSpec& spec : encodings) {
    if (codec.empty() || codec == "all" || spec.codec == codec || spec.name == encoding)
      out.push_back(spec);
  }
  return out;
}

RunConfig load_run_config(const std::string& path) {
  std::vector<std::string> chain;
  return load_run_config_in(path, chain);
}

namespace {
RunConfig load_run_config_in(const std::string& path, std::vector<std::string>& chain,
                             YAML::Node* merged) {
  YAML::Node root = load_yaml_file(path);
  RunConfig config;
  config.source = path;
  if (!root.IsMap())
    fail(path, ": a config is a mapping of keys to values");
  chain.push_back(path);
  root = with_base(root, path, chain);
  chain.pop_back();
  if (merged)
    *merged = root;
  YamlMap top(root, "", path);

  // The settings every point shares: top-level keys, with `net:` flattened to net.KEY.
  std::map<std::string, YAML::Node> shared;
  const YAML::Node& const_root = root;  // (lookups on a const node do not insert)
  const YAML::Node encodings = const_root["encodings"], sweep = const_root["sweep"],
                   pool = const_root["pool"];
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = yaml_scalar(it->first, path, "a key");
    if (key == "encodings" || key == "sweep" || key == "pool" || key == "extends") {
      continue;
    } else if (key == "net") {
      if (!it->second.IsMap())
        fail(top.at(it->second), "'net' must map network option names to values");
      for (auto n = it->second.begin(); n != it->second.end(); ++n)
        shared[kNetPrefix + yaml_scalar(n->first, path, "a network option name")] = n->second;
    } else {
      check_key(top, it->first, key);
      shared[key] = it->second;
    }
  }
  config.name = shared.count("name") ? yaml_scalar(shared["name"], path, "key 'name'")
                                     : std::filesystem::path(path).stem().string();

  // encodings: name -> "codec[:key=value;...]", best quality first.
  if (encodings && !encodings.IsMap())
    fail(top.at(encodings), "'encodings' must map encoding names to codec specs");
  if (encodings) {
    for (auto it = encodings.begin(); it != encodings.end(); ++it) {
      const auto name = yaml_scalar(it->first, path, "an encoding name");
      EncodingSpec spec = parse_encoding_spec(
          name + "=" + yaml_scalar(it->second, path, "key 'encodings." + name + "'"));
      at_node(top.at(it->second) + "key 'encodings." + name + "': ",
              [&] { make_store_encodings({spec}, 1); });
      config.encodings.push_back(spec);
    }
  } else {
    config.encodings = default_encodings();
  }

  // The sweep: key -> list of values.
  std::vector<std::vector<YAML::Node>> values;
  if (sweep) {
    if (!sweep.IsMap())
      fail(top.at(sweep), "'sweep' must map keys to lists of values");
    for (auto it = sweep.begin(); it != sweep.end(); ++it) {
      const auto key = yaml_scalar(it->first, path, "a sweep key");
      check_key(top, it->first, key);
      if (key == "name")
        fail(top.at(it->first), "key 'name' cannot be swept");
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
  // pool: swept keys that summary.json also averages over (each pooled entry: the points that
  // differ only in them, their requests together).
  if (pool) {
    if (!pool.IsSequence())
      fail(top.at(pool), "'pool' must be a list of swept keys");
    for (const YAML::Node& node : pool) {
      const std::string key = yaml_scalar(node, path, "each value of 'pool'");
      if (std::find(config.axis_names.begin(), config.axis_names.end(), key) ==
          config.axis_names.end()) {
        fail(top.at(node), unknown_name_message("pooled key", key, config.axis_names),
             " (pool names swept keys)");
      }
      if (std::find(config.pooled_axes.begin(), config.pooled_axes.end(), key) !=
          config.pooled_axes.end()) {
        fail(top.at(node), "key '", key, "' is pooled twice");
      }
      config.pooled_axes.push_back(key);
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
    std::map<std::string, YAML::Node> point_values = shared;  // nodes keep their lines
    for (size_t a = 0; a < values.size(); ++a)
      point_values[config.axis_names[a]] = values[a][at[a]];
    point_values.erase("name");
    RunPoint point = parse_point(point_values, config, top);
    point.index = index;
    config.points.push_back(std::move(point));
    size_t a = values.size();
    while (a > 0 && ++at[a - 1] == values[a - 1].size())
      at[--a] = 0;
    if (a == 0)
      break;
  }

  // The resolved config: every key's value or default, then the encodings and the sweep.
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << config.name;
  const RunPoint& first = config.points.front();
  auto swept = [&](const std::string& key) {
    return std::find(config.axis_names.begin(), config.axis_names.end(), key) !=
           config.axis_names.end();
  };
  for (const OptionSpec& spec : run_options()) {
    if (spec.name != "name" && !swept(spec.name))
      out << YAML::Key << spec.name << YAML::Value << first.run.value_text(spec.name);
  }
  for (const auto& [key, value] : first.net) {
    if (!swept(kNetPrefix + key))
      out << YAML::Key << kNetPrefix + key << YAML::Value << value;
  }
  out << YAML::Key << "encodings" << YAML::Value << YAML::BeginMap;
  for (const EncodingSpec& e : config.encodings)
    out << YAML::Key << e.name << YAML::Value << format_encoding_spec(e).substr(e.name.size() + 1);
  out << YAML::EndMap;
  out << YAML::Key << "sweep" << YAML::Value << YAML::BeginMap;
  for (size_t a = 0; a < values.size(); ++a) {
    out << YAML::Key << config.axis_names[a] << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const YAML::Node& v : values[a])
      out << v.as<std::string>();
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  if (!config.pooled_axes.empty()) {
    out << YAML::Key << "pool" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& key : config.pooled_axes)
      out << key;
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  config.resolved_yaml = std::string(out.c_str()) + "\n";
  return config;
}
}  // namespace

namespace {
// The "# ..." lines of a resolved config (the shard), which YAML parsing drops.
std::vector<std::string> comment_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    if (text.compare(start, 1, "#") == 0)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Each top-level key and its value, dumped.
std::map<std::string, std::string> top_level(const std::string& text) {
  std::map<std::string, std::string> out;
  const YAML::Node root = YAML::Load(text);
  if (!root.IsMap())
    return out;
  for (auto it = root.begin(); it != root.end(); ++it)
    out[it->first.as<std::string>()] = YAML::Dump(it->second);
  return out;
}
}  // namespace

bool same_resolved_config(const std::string& written, const std::string& resolved) {
  if (written == resolved)
    return true;
  if (comment_lines(written) != comment_lines(resolved))
    return false;
  std::map<std::string, std::string> old_keys, new_keys;
  try {
    old_keys = top_level(written);
    new_keys = top_level(resolved);
  } catch (const YAML::Exception&) {
    return false;
  }
  if (old_keys.empty() || new_keys.empty())
    return false;
  for (const auto& [key, value] : old_keys) {
    auto it = new_keys.find(key);
    if (it == new_keys.end() || it->second != value)
      return false;
  }
  for (const auto& entry : new_keys) {  // (a lambda may not capture a structured binding)
    const std::string& key = entry.first;
    if (old_keys.count(key))
      continue;
    const auto& options = run_options();
    auto spec = std::find_if(options.begin(), options.end(),
                             [&](const OptionSpec& o) { return o.name == key; });
    if (spec == options.end() || YAML::Dump(YAML::Load(spec->default_text)) != entry.second)
      return false;
  }
  return true;
}

}  // namespace cachegen
