// Command-line arguments of one subcommand: --name value flags (repeatable), --switch flags, and
// positionals. Every flag must be declared, so a typo is an error that lists the valid flags.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cachegen/core/options.h"

namespace cachegen {

class CliArgs {
 public:
  // valued: flags that take a value; switches: flags without one.
  CliArgs(const std::string& command, int argc, char** argv, std::set<std::string> valued,
          std::set<std::string> switches);

  bool has(const std::string& flag) const {
    return values_.count(flag) || switches_on_.count(flag);
  }
  std::string get(const std::string& flag, const std::string& fallback) const;
  std::vector<std::string> get_all(const std::string& flag) const;
  int64_t get_int(const std::string& flag, int64_t fallback) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Throws unless there are between min and max positionals, naming `usage`.
  void expect_positionals(size_t min, size_t max, const std::string& usage) const;

 private:
  std::string command_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> switches_on_;
  std::vector<std::string> positionals_;
};

// Options for `owner` from the repeated KEY=VALUE flag `flag` (e.g. --net bandwidth_gbps=1);
// the plug-in's registry checks them.
Options assignments(const CliArgs& args, const std::string& flag, const std::string& owner);

}  // namespace cachegen
