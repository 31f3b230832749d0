#include "cachegen/core/registry.h"

namespace cachegen {

namespace {
std::vector<const RegistryBase*>& directory() {
  static std::vector<const RegistryBase*> registries;
  return registries;
}
}  // namespace

const std::vector<const RegistryBase*>& registry_directory() {
  return directory();
}

RegistryBase::RegistryBase(std::string family, const RegistryBase* options_from)
    : family_(std::move(family)), options_from_(options_from) {
  directory().push_back(this);
}

std::vector<std::string> RegistryBase::names() const {
  std::vector<std::string> out;
  for (const auto& entry : plugins_)
    out.push_back(entry.first);
  return out;
}

std::string RegistryBase::joined_names() const {
  return joined(names());
}

const PluginInfo& RegistryBase::info(const std::string& name) const {
  auto it = plugins_.find(name);
  if (it == plugins_.end())
    fail(unknown_name_message(family_, name, names()));
  return it->second;
}

Options RegistryBase::validated(const std::string& name, const Options& options) const {
  Options named(options.values(), str(family_, " '", name, "'"));
  const PluginInfo& plugin = info(name);
  named.validate(options_from_ ? options_from_->info(name).options : plugin.options);
  if (plugin.check)
    plugin.check(named);
  return named;
}

void RegistryBase::add_info(PluginInfo info) {
  if (info.name.empty())
    fail(family_, ": a plug-in without a name");
  if (plugins_.count(info.name))
    fail(family_, " '", info.name, "' is registered twice");
  for (size_t i = 0; i < info.options.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (info.options[i].name == info.options[j].name)
        fail(family_, " '", info.name, "' declares option '", info.options[i].name, "' twice");
    }
  }
  const std::string name = info.name;
  plugins_.emplace(name, std::move(info));
}

}  // namespace cachegen
