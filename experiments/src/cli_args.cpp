#include "cachegen/experiments/cli_args.h"

#include <cerrno>
#include <cstdlib>

#include "cachegen/core/error.h"

namespace cachegen {

CliArgs::CliArgs(const std::string& command, int argc, char** argv, std::set<std::string> valued,
                 std::set<std::string> switches)
    : command_(command) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg.substr(2), value;
      size_t eq = name.find('=');
      bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (valued.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argc)
            fail("cachegen ", command, ": --", name, " needs a value");
          value = argv[++i];
        }
        values_[name].push_back(value);
      } else if (switches.count(name) && !inline_value) {
        switches_on_.insert(name);
      } else {
        std::vector<std::string> valid;
        for (const auto& v : valued)
          valid.push_back("--" + v);
        for (const auto& s : switches)
          valid.push_back("--" + s);
        fail("cachegen ", command, ": ", unknown_name_message("flag", "--" + name, valid));
      }
    } else {
      positionals_.push_back(arg);
    }
  }
}

std::string CliArgs::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> CliArgs::get_all(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t CliArgs::get_int(const std::string& flag, int64_t fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    return fallback;
  const std::string& text = it->second.back();
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    fail("cachegen ", command_, ": --", flag, " '", text, "' is not an integer");
  }
  return value;
}

void CliArgs::expect_positionals(size_t min, size_t max, const std::string& usage) const {
  if (positionals_.size() < min || positionals_.size() > max) {
    fail("usage: cachegen ", command_, " ", usage);
  }
}

Options assignments(const CliArgs& args, const std::string& flag, const std::string& owner) {
  Options options({}, owner);
  for (const std::string& assignment : args.get_all(flag))
    options.add_assignment(assignment);
  return options;
}

}  // namespace cachegen
