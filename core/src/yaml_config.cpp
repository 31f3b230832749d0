#include "cachegen/core/yaml_config.h"

#include <cmath>
#include <filesystem>

#include "cachegen/core/options.h"

namespace cachegen {

YAML::Node load_yaml_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    fail(path, ": no such file");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    fail(path, " line ", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
}

std::string yaml_scalar(const YAML::Node& node, const std::string& source,
                        const std::string& what) {
  if (!node.IsScalar()) {
    fail(source, " line ", node.Mark().line + 1, ": ", what,
         " must be a single value, not a list or mapping");
  }
  return node.Scalar();
}

YamlMap::YamlMap(const YAML::Node& node, std::string where, std::string source)
    : node_(node), where_(std::move(where)), source_(std::move(source)) {
  if (node_ && !node_.IsMap() && !node_.IsNull())
    fail(at(node_), "'", where_.empty() ? "the file" : where_, "' must be a mapping");
  if (node_ && node_.IsNull())
    node_.reset(YAML::Node(YAML::NodeType::Undefined));  // "key:" with nothing under it
}

std::string YamlMap::at(const YAML::Node& node) const {
  return source_ + " line " + std::to_string(node.Mark().line + 1) + ": ";
}

std::string YamlMap::location() const {
  return node_ ? " line " + std::to_string(node_.Mark().line + 1) : "";
}

double YamlMap::get_number(const std::string& key, double fallback, double min, double max) {
  const auto value = get<double>(key, fallback);
  if (!(value >= min && value <= max) || !std::isfinite(value)) {
    fail(has(key) ? at(node_[key]) : source_ + ": ", "key '", path(key), "' = ", value,
         " is out of range [", min, ", ", max, "]");
  }
  return value;
}

double YamlMap::require_number(const std::string& key, double min, double max) {
  if (!has(key))
    fail(source_, location(), ": missing key '", path(key), "'");
  return get_number(key, min, min, max);
}

std::string YamlMap::get_choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& choices) {
  auto value = get<std::string>(key, fallback);
  for (const std::string& c : choices) {
    if (c == value)
      return value;
  }
  std::string valid;
  for (const std::string& c : choices)
    valid += (valid.empty() ? "" : ", ") + c;
  fail(at(node_[key]), "key '", path(key), "': unknown value '", value, "'; valid: ", valid);
}

YAML::Node YamlMap::child(const std::string& key) {
  known_.insert(key);
  return has(key) ? node_[key] : YAML::Node(YAML::NodeType::Undefined);
}

void YamlMap::finish() const {
  if (!node_)
    return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const auto key = yaml_scalar(it->first, source_, "a key");
    if (known_.count(key))
      continue;
    fail(at(it->first),
         unknown_name_message("key", path(key),
                              std::vector<std::string>(known_.begin(), known_.end())));
  }
}

}  // namespace cachegen
