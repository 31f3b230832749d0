// Typed reading of one YAML mapping of a config file, with errors that name the file, the line
// and the key: every get() records its key, so finish() can reject a key nobody read and list
// the valid ones. Library cachegen_yaml (built when yaml-cpp is found): for configs, training
// recipes and hardware profiles.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

// Loads a YAML file; a missing file or a syntax error fails naming the file (and line).
YAML::Node load_yaml_file(const std::string& path);

// The text of a scalar node; a mapping or list where a single value belongs fails naming the
// file, the line and `what` (a key).
std::string yaml_scalar(const YAML::Node& node, const std::string& source, const std::string& what);

class YamlMap {
 public:
  // `where` is the mapping's dotted path in the file ("" for the top level); `source` the file.
  YamlMap(const YAML::Node& node, std::string where, std::string source);

  bool has(const std::string& key) const { return node_ && node_[key]; }
  template <typename T>
  T get(const std::string& key, T fallback) {
    known_.insert(key);
    if (!has(key))
      return fallback;
    return convert<T>(node_[key], key);
  }
  template <typename T>
  T require(const std::string& key) {
    if (!has(key))
      fail(source_, location(), ": missing key '", path(key), "'");
    return get<T>(key, T());
  }
  // A number in [min, max]; require_number fails if the key is missing.
  double get_number(const std::string& key, double fallback, double min, double max);
  double require_number(const std::string& key, double min, double max);
  // One of `choices`; an other value fails listing them.
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& choices);
  // A sub-mapping (an empty node if absent), whose keys the caller checks with its own YamlMap.
  YAML::Node child(const std::string& key);
  void allow(const std::string& key) { known_.insert(key); }
  // Throws on the first key that no getter asked for, naming its line and the valid keys.
  void finish() const;

  // "FILE line N: " for a node (errors about values).
  std::string at(const YAML::Node& node) const;
  std::string path(const std::string& key) const {
    return where_.empty() ? key : where_ + "." + key;
  }
  const std::string& source() const { return source_; }

 private:
  template <typename T>
  T convert(const YAML::Node& value, const std::string& key) const {
    try {
      return value.as<T>();
    } catch (const YAML::Exception&) {
      fail(at(value), "key '", path(key), "' has the wrong type");
    }
  }
  std::string location() const;

  YAML::Node node_;
  std::string where_, source_;
  std::set<std::string> known_;
};

}  // namespace cachegen
