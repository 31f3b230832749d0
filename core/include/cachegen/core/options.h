// Typed, self-declared key=value options. A plug-in (codec, network model, controller, language
// model, dataset) declares each option it reads once, in an OptionSpec: name, type, default,
// range or choices, and a line of help. The registry checks what a config or command line gives
// against that schema before the plug-in sees it (unknown key: an error that suggests the
// closest valid key; wrong type or out of range: an error naming key, value and what is
// allowed), and the plug-in reads values back by name, with the declared default when absent.
// Nothing outside the plug-in repeats a default or a range.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cachegen {

enum class OptionType { kInteger, kNumber, kBool, kChoice, kText, kFile, kIntegerList };

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kText;
  std::string default_text;          // the default as a user would write it ("": none)
  double min = 0, max = 0;           // kInteger, kNumber and each item of kIntegerList
  std::vector<std::string> choices;  // kChoice
  std::string help;

  // "integer in [2, 8]", "one of: rans, ac", "on|off", ...
  std::string type_text() const;
};

OptionSpec integer_option(std::string name, int64_t fallback, int64_t min, int64_t max,
                          std::string help);
OptionSpec number_option(std::string name, double fallback, double min, double max,
                         std::string help);
OptionSpec bool_option(std::string name, bool fallback, std::string help);
OptionSpec choice_option(std::string name, std::string fallback, std::vector<std::string> choices,
                         std::string help);
// Free text (a list in the plug-in's own syntax, a name); "" default means "not given".
OptionSpec text_option(std::string name, std::string fallback, std::string help);
// The path of a file that must exist when given; read with text(). Default: not given, or
// `fallback` (checked by whoever reads it: it may be a file a script makes).
OptionSpec file_option(std::string name, std::string help, std::string fallback = "");
// Comma-separated integers in [min, max]; "" default means "not given".
OptionSpec integer_list_option(std::string name, std::string fallback, int64_t min, int64_t max,
                               std::string help);

using OptionSchema = std::vector<OptionSpec>;

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

  // Whether the user gave `key` (as opposed to its default applying).
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const std::map<std::string, std::string>& values() const { return values_; }
  const std::string& context() const { return context_; }

  // Checks every given value against `schema` and keeps the schema for the getters below.
  void validate(const OptionSchema& schema);

  // The value of a declared option, or its declared default when absent. Asking for an option
  // the schema does not declare is a programming error (it throws, naming the key).
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool flag(const std::string& key) const;
  std::string text(const std::string& key) const;  // kChoice, kText and kFile
  // Any declared option's value as text: as given, or the default.
  std::string value_text(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;

 private:
  const OptionSpec& spec(const std::string& key, OptionType type) const;
  std::string raw(const OptionSpec& spec) const;

  std::map<std::string, std::string> values_;
  std::string context_;
  OptionSchema schema_;
};

// Canonical "a=1;b=two" form, keys sorted.
std::string format_options(const std::map<std::string, std::string>& values);

// "a, b, c", for lists of valid names in errors.
std::string joined(const std::vector<std::string>& items);

// The candidate closest to `word` (edit distance at most a third of its length, at least 2,
// and less than its length; a prefix of either counts as 1), or "" when none is close: for
// "did you mean ...?" in errors.
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);
// "unknown KIND 'word'; did you mean 'x'? valid: a, b, c" (the hint only when one is close).
std::string unknown_name_message(const std::string& kind, const std::string& word,
                                 const std::vector<std::string>& candidates);

}  // namespace cachegen
