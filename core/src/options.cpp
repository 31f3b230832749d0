#include "cachegen/core/options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "cachegen/core/error.h"

namespace cachegen {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

namespace {
bool parse_integer(const std::string& text, int64_t* out) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    return false;
  *out = value;
  return true;
}

bool parse_number(const std::string& text, double* out) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    return false;
  *out = value;
  return true;
}

// on/off, true/false, 1/0, yes/no; returns false when `text` is none of them.
bool parse_bool(const std::string& text, bool* out) {
  if (text == "on" || text == "true" || text == "1" || text == "yes") {
    *out = true;
    return true;
  }
  if (text == "off" || text == "false" || text == "0" || text == "no") {
    *out = false;
    return true;
  }
  return false;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos)
      end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string range_text(double min, double max, bool integers) {
  if (integers)
    return str("[", static_cast<int64_t>(min), ", ", static_cast<int64_t>(max), "]");
  return str("[", min, ", ", max, "]");
}

// Checks `value` against `spec`; returns "" or what is wrong with it.
std::string check_value(const OptionSpec& spec, const std::string& value) {
  switch (spec.type) {
    case OptionType::kInteger: {
      int64_t v = 0;
      if (!parse_integer(value, &v))
        return "is not an integer";
      if (static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max)
        return "is outside " + range_text(spec.min, spec.max, true);
      return "";
    }
    case OptionType::kNumber: {
      double v = 0;
      if (!parse_number(value, &v))
        return "is not a number";
      if (!(v >= spec.min && v <= spec.max))
        return "is outside " + range_text(spec.min, spec.max, false);
      return "";
    }
    case OptionType::kBool: {
      bool v = false;
      return parse_bool(value, &v) ? "" : "is not a boolean; valid: on, off";
    }
    case OptionType::kChoice:
      return std::find(spec.choices.begin(), spec.choices.end(), value) != spec.choices.end()
                 ? ""
                 : "is not valid; valid: " + joined(spec.choices);
    case OptionType::kText:
      return "";
    case OptionType::kFile: {
      std::error_code error;  // a name too long or otherwise unusable is just not a file
      return value.empty() || std::filesystem::is_regular_file(value, error) ? "" : "is not a file";
    }
    case OptionType::kIntegerList:
      if (value.empty())
        return "";
      for (const std::string& item : split(value, ',')) {
        int64_t v = 0;
        if (!parse_integer(item, &v))
          return "has '" + item + "', which is not an integer";
        if (static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max)
          return str("has ", v, ", outside ", range_text(spec.min, spec.max, true));
      }
      return "";
  }
  return "";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string OptionSpec::type_text() const {
  switch (type) {
    case OptionType::kInteger:
      return "integer in " + range_text(min, max, true);
    case OptionType::kNumber:
      return "number in " + range_text(min, max, false);
    case OptionType::kBool:
      return "on|off";
    case OptionType::kChoice:
      return "one of: " + joined(choices);
    case OptionType::kText:
      return "text";
    case OptionType::kFile:
      return "file";
    case OptionType::kIntegerList:
      return "integers in " + range_text(min, max, true) + ", comma-separated";
  }
  return "";
}

OptionSpec integer_option(std::string name, int64_t fallback, int64_t min, int64_t max,
                          std::string help) {
  return {std::move(name),          OptionType::kInteger,     str(fallback),
          static_cast<double>(min), static_cast<double>(max), {},
          std::move(help)};
}

OptionSpec number_option(std::string name, double fallback, double min, double max,
                         std::string help) {
  return {std::move(name), OptionType::kNumber, str(fallback), min, max, {}, std::move(help)};
}

OptionSpec bool_option(std::string name, bool fallback, std::string help) {
  return {std::move(name), OptionType::kBool, fallback ? "on" : "off", 0, 0, {}, std::move(help)};
}

OptionSpec choice_option(std::string name, std::string fallback, std::vector<std::string> choices,
                         std::string help) {
  return {std::move(name),    OptionType::kChoice, std::move(fallback), 0, 0,
          std::move(choices), std::move(help)};
}

OptionSpec text_option(std::string name, std::string fallback, std::string help) {
  return {std::move(name), OptionType::kText, std::move(fallback), 0, 0, {}, std::move(help)};
}

OptionSpec file_option(std::string name, std::string help, std::string fallback) {
  return {std::move(name), OptionType::kFile, std::move(fallback), 0, 0, {}, std::move(help)};
}

OptionSpec integer_list_option(std::string name, std::string fallback, int64_t min, int64_t max,
                               std::string help) {
  return {std::move(name),          OptionType::kIntegerList, std::move(fallback),
          static_cast<double>(min), static_cast<double>(max), {},
          std::move(help)};
}

Options::Options(std::map<std::string, std::string> values, std::string context)
    : values_(std::move(values)), context_(std::move(context)) {}

Options Options::parse(const std::string& text, const std::string& context) {
  Options options({}, context);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      options.add_assignment(text.substr(start, end - start));
    start = end + 1;
  }
  return options;
}

void Options::add_assignment(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(context_, ": option '", assignment, "' is not of the form KEY=VALUE");
  values_[assignment.substr(0, eq)] = assignment.substr(eq + 1);
}

void Options::validate(const OptionSchema& schema) {
  std::vector<std::string> names;
  for (const OptionSpec& s : schema)
    names.push_back(s.name);
  for (const auto& entry : values_) {
    const std::string &key = entry.first, &value = entry.second;
    auto it = std::find_if(schema.begin(), schema.end(),
                           [&](const OptionSpec& s) { return s.name == key; });
    const std::string prefix = context_.empty() ? "" : context_ + ": ";
    if (it == schema.end()) {
      fail(prefix, names.empty() ? "takes no options, got '" + key + "'"
                                 : unknown_name_message("option", key, names));
    }
    const std::string problem = check_value(*it, value);
    if (!problem.empty())
      fail(prefix, "option '", key, "'='", value, "' ", problem);
  }
  schema_ = schema;
}

const OptionSpec& Options::spec(const std::string& key, OptionType type) const {
  for (const OptionSpec& s : schema_) {
    if (s.name == key) {
      const bool textual = s.type == OptionType::kChoice || s.type == OptionType::kFile;
      if (s.type != type && !(type == OptionType::kText && textual))
        fail(context_, ": option '", key, "' is read as another type than it is declared");
      return s;
    }
  }
  fail(context_, ": option '", key,
       "' is read but not declared (or the options were not validated)");
}

std::string Options::raw(const OptionSpec& spec) const {
  auto it = values_.find(spec.name);
  return it == values_.end() ? spec.default_text : it->second;
}

int64_t Options::integer(const std::string& key) const {
  int64_t v = 0;
  parse_integer(raw(spec(key, OptionType::kInteger)), &v);
  return v;
}

double Options::number(const std::string& key) const {
  double v = 0;
  parse_number(raw(spec(key, OptionType::kNumber)), &v);
  return v;
}

bool Options::flag(const std::string& key) const {
  bool v = false;
  parse_bool(raw(spec(key, OptionType::kBool)), &v);
  return v;
}

std::string Options::text(const std::string& key) const {
  return raw(spec(key, OptionType::kText));
}

std::string Options::value_text(const std::string& key) const {
  for (const OptionSpec& s : schema_) {
    if (s.name == key)
      return raw(s);
  }
  fail(context_, ": option '", key, "' is read but not declared");
}

std::vector<int64_t> Options::integers(const std::string& key) const {
  const std::string text = raw(spec(key, OptionType::kIntegerList));
  std::vector<int64_t> out;
  if (text.empty())
    return out;
  for (const std::string& item : split(text, ',')) {
    int64_t v = 0;
    parse_integer(item, &v);
    out.push_back(v);
  }
  return out;
}

std::string format_options(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& entry : values)
    out += (out.empty() ? "" : ";") + entry.first + "=" + entry.second;
  return out;
}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    // A prefix of the other ("rtt" for "rtt_ms") counts as a near miss.
    const bool prefix =
        !word.empty() && (candidate.rfind(word, 0) == 0 || word.rfind(candidate, 0) == 0);
    const size_t d = prefix ? 1 : edit_distance(word, candidate);
    if (d < best_distance && d < word.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string unknown_name_message(const std::string& kind, const std::string& word,
                                 const std::vector<std::string>& candidates) {
  const std::string hint = closest_name(word, candidates);
  return str("unknown ", kind, " '", word, "'",
             hint.empty() ? "" : " (did you mean '" + hint + "'?)",
             "; valid: ", candidates.empty() ? std::string("(none)") : joined(candidates));
}

}  // namespace cachegen
