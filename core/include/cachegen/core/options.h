// Typed, validated key=value options (codec parameters from `--opt KEY=VALUE`, container
// parameter strings). Every getter records the key it read, so that `finish()` can reject a key
// that nobody asked for and list the valid ones.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cachegen {

class Options {
 public:
  Options() = default;
  // `context` names the owner in errors, e.g. "codec 'cachegen'".
  Options(std::map<std::string, std::string> values, std::string context);

  // Parses "a=1;b=two" (the canonical form written into containers).
  static Options parse(const std::string& text, const std::string& context);
  // Adds one "KEY=VALUE" (from the command line); throws on a malformed pair.
  void add_assignment(const std::string& assignment);
  void set(const std::string& key, const std::string& value) { values_[key] = value; }

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  int64_t get_int(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  bool get_bool(const std::string& key, bool fallback);  // on/off, true/false, 1/0
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& choices);
  std::string get_string(const std::string& key, const std::string& fallback);
  // Comma-separated integers, e.g. "32,16,16".
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback,
                                    int64_t min, int64_t max);

  // Throws if a key was given that no getter asked for, listing the valid keys.
  void finish() const;

  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::string context_;
  std::set<std::string> known_;
};

// Canonical "a=1;b=two" form, keys sorted.
std::string format_options(const std::map<std::string, std::string>& values);

}  // namespace cachegen
