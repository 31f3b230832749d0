// list: every plug-in family of this build, its plug-ins and each one's options with their
// types, defaults and help, straight from the registries (nothing here names a plug-in).
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cachegen/core/codec.h"
#include "cachegen/core/dataset.h"
#include "cachegen/core/language_model.h"
#include "cachegen/core/network.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"
#include "cachegen/experiments/run_config.h"
#include "cachegen/stream/controller.h"

namespace cachegen {

namespace {
nlohmann::ordered_json options_json(const OptionSchema& schema) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const OptionSpec& spec : schema) {
    out.push_back({{"name", spec.name},
                   {"type", spec.type_text()},
                   {"default", spec.default_text},
                   {"help", spec.help}});
  }
  return out;
}

void print_options(const OptionSchema& schema, const char* indent) {
  for (const OptionSpec& spec : schema) {
    std::printf("%s%-20s %s; default %s. %s\n", indent, spec.name.c_str(), spec.type_text().c_str(),
                spec.default_text.empty() ? "none" : spec.default_text.c_str(), spec.help.c_str());
  }
}
}  // namespace

int run_list(int argc, char** argv) {
  CliArgs args("list", argc, argv, {}, {"json"});
  args.expect_positionals(0, 1, "[FAMILY] [--json]");
  // Every family's registry exists even when no plug-in of it is built (e.g. no models
  // without libtorch).
  codec_registry();
  network_registry();
  controller_registry();
  language_model_registry();
  dataset_registry();
  const std::string only = args.positionals().empty() ? "" : args.positionals()[0];
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  bool found = only.empty() || only == "run";
  std::vector<const RegistryBase*> registries = registry_directory();
  std::sort(registries.begin(), registries.end(),
            [](const RegistryBase* a, const RegistryBase* b) { return a->family() < b->family(); });
  for (const RegistryBase* registry : registries) {
    if (!only.empty() && registry->family() != only)
      continue;
    found = true;
    if (!args.has("json"))
      std::printf("%s%ss:\n", json.empty() ? "" : "\n", registry->family().c_str());
    nlohmann::ordered_json family = nlohmann::ordered_json::array();
    for (const std::string& name : registry->names()) {
      const PluginInfo& info = registry->info(name);
      const RegistryBase* owner = registry->options_from();
      const OptionSchema& schema = owner ? owner->info(name).options : info.options;
      family.push_back(
          {{"name", name}, {"description", info.description}, {"options", options_json(schema)}});
      if (!args.has("json")) {
        std::printf(
            "  %s: %s%s\n", name.c_str(), info.description.c_str(),
            owner ? (" (the options of " + owner->family() + " '" + name + "')").c_str() : "");
        print_options(schema, "      ");
      }
    }
    if (registry->names().empty() && !args.has("json"))
      std::printf("  (none in this build)\n");
    json[registry->family()] = family;
  }
  if (only.empty() || only == "run") {
    json["run"] = options_json(run_options());
    if (!args.has("json")) {
      std::printf("\nrun config keys (net.KEY: the network model's options):\n");
      print_options(run_options(), "  ");
    }
  }
  if (!found) {
    std::vector<std::string> families{"run"};
    for (const RegistryBase* registry : registry_directory())
      families.push_back(registry->family());
    fail(unknown_name_message("family", only, families));
  }
  if (args.has("json"))
    std::printf("%s\n", json.dump(2).c_str());
  return 0;
}

}  // namespace cachegen
