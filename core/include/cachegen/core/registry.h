// Name-keyed registries of plug-ins: codecs, GPU codecs, network models, controllers, language
// models and datasets are created by the name a config or command line gives, with options the
// plug-in declares itself (options.h).
//
// A plug-in is one source file that registers itself with one line at namespace scope:
//
//   CACHEGEN_REGISTER(codec_registry(), {"quant", "absmax quantization", schema}, factory);
//
// Module libraries are linked whole (cmake/cachegen_module.cmake), so a file in a module's
// plug-in folder is registered without anything else naming it. An unknown name fails,
// suggests the closest valid name and lists them all; `cachegen list` prints every family.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/error.h"
#include "cachegen/core/options.h"

namespace cachegen {

// What a registry knows of one plug-in besides its factory.
struct PluginInfo {
  PluginInfo(std::string name_, std::string description_, OptionSchema options_ = {},
             std::function<void(const Options&)> check_ = nullptr, std::string sample_options_ = "")
      : name(std::move(name_)),
        description(std::move(description_)),
        options(std::move(options_)),
        check(std::move(check_)),
        sample_options(std::move(sample_options_)) {}

  std::string name;
  std::string description;
  OptionSchema options;
  // Optional: rules across keys that the schema cannot state (e.g. "trace or bandwidth, not
  // both"), run on validated options when a config is loaded, before anything runs.
  std::function<void(const Options&)> check;
  // Options ("key=value;...") under which the plug-in works on the repository's own data
  // (paths relative to the source tree), when its defaults alone do not: the family's
  // conformance test creates every plug-in with them.
  std::string sample_options;
};

// The part of a registry that does not depend on the family's interface: names, descriptions
// and option schemas (for listings, errors and config validation).
class RegistryBase {
 public:
  // Joins registry_directory(). With `options_from`, a plug-in takes the options of the plug-in
  // of the same name there (a GPU codec takes its CPU codec's options) and declares none.
  explicit RegistryBase(std::string family, const RegistryBase* options_from = nullptr);
  virtual ~RegistryBase() = default;
  RegistryBase(const RegistryBase&) = delete;
  RegistryBase& operator=(const RegistryBase&) = delete;

  const std::string& family() const { return family_; }  // "codec", "network model", ...
  const RegistryBase* options_from() const { return options_from_; }
  bool contains(const std::string& name) const { return plugins_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted
  std::string joined_names() const;        // "a, b, c"
  // The plug-in called `name`; an unknown name fails, suggesting the closest valid one.
  const PluginInfo& info(const std::string& name) const;
  // `options` checked against `name`'s schema (and its `check`), with errors naming
  // "<family> '<name>'".
  Options validated(const std::string& name, const Options& options) const;

 protected:
  void add_info(PluginInfo info);

 private:
  std::string family_;
  const RegistryBase* options_from_;
  std::map<std::string, PluginInfo> plugins_;
};

// Every registry of the program, in the order they were first used.
const std::vector<const RegistryBase*>& registry_directory();

template <typename Base, typename... Args>
class Registry : public RegistryBase {
 public:
  using Factory = std::function<std::unique_ptr<Base>(const Options&, Args...)>;

  explicit Registry(std::string family, const RegistryBase* options_from = nullptr)
      : RegistryBase(std::move(family), options_from) {}

  void add(PluginInfo info, Factory factory) {
    factories_[info.name] = std::move(factory);
    add_info(std::move(info));
  }

  // Checks `options` against the plug-in's schema, then creates it.
  std::unique_ptr<Base> create(const std::string& name, const Options& options,
                               Args... args) const {
    Options checked = validated(name, options);
    return factories_.at(name)(checked, std::forward<Args>(args)...);
  }

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace cachegen

#define CACHEGEN_CONCAT_INNER(a, b) a##b
#define CACHEGEN_CONCAT(a, b) CACHEGEN_CONCAT_INNER(a, b)
// Registers a plug-in when the program starts (at namespace scope, once per plug-in):
// CACHEGEN_REGISTER(REGISTRY, PluginInfo{name, description, schema}, factory).
#define CACHEGEN_REGISTER(registry, ...)                                               \
  [[maybe_unused]] static const bool CACHEGEN_CONCAT(cachegen_registered_, __LINE__) = \
      ((registry).add(__VA_ARGS__), true)
