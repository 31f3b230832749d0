#include "cachegen/core/options.h"

#include <cerrno>
#include <cstdlib>

#include "cachegen/core/error.h"

namespace cachegen {

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
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail(context_, ": option '", assignment, "' is not of the form KEY=VALUE");
  }
  values_[assignment.substr(0, eq)] = assignment.substr(eq + 1);
}

static int64_t parse_int(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    fail(what, ": '", text, "' is not an integer");
  }
  return value;
}

int64_t Options::get_int(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  known_.insert(key);
  auto it = values_.find(key);
  if (it == values_.end())
    return fallback;
  int64_t value = parse_int(it->second, str(context_, ": option '", key, "'"));
  if (value < min || value > max) {
    fail(context_, ": option '", key, "'=", value, " is outside [", min, ", ", max, "]");
  }
  return value;
}

bool Options::get_bool(const std::string& key, bool fallback) {
  known_.insert(key);
  auto it = values_.find(key);
  if (it == values_.end())
    return fallback;
  const std::string& v = it->second;
  if (v == "on" || v == "true" || v == "1" || v == "yes")
    return true;
  if (v == "off" || v == "false" || v == "0" || v == "no")
    return false;
  fail(context_, ": option '", key, "'='", v, "' is not a boolean; valid: on, off");
}

std::string Options::get_choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& choices) {
  known_.insert(key);
  auto it = values_.find(key);
  if (it == values_.end())
    return fallback;
  for (const std::string& choice : choices) {
    if (choice == it->second)
      return choice;
  }
  std::string valid;
  for (const std::string& choice : choices)
    valid += (valid.empty() ? "" : ", ") + choice;
  fail(context_, ": option '", key, "'='", it->second, "' is not valid; valid: ", valid);
}

std::string Options::get_string(const std::string& key, const std::string& fallback) {
  known_.insert(key);
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::vector<int64_t> Options::get_int_list(const std::string& key,
                                           const std::vector<int64_t>& fallback, int64_t min,
                                           int64_t max) {
  known_.insert(key);
  auto it = values_.find(key);
  if (it == values_.end())
    return fallback;
  std::vector<int64_t> out;
  const std::string& text = it->second;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    int64_t value =
        parse_int(text.substr(start, end - start), str(context_, ": option '", key, "'"));
    if (value < min || value > max) {
      fail(context_, ": option '", key, "' value ", value, " is outside [", min, ", ", max, "]");
    }
    out.push_back(value);
    start = end + 1;
  }
  return out;
}

void Options::finish() const {
  for (const auto& entry : values_) {
    if (!known_.count(entry.first)) {
      std::string valid;
      for (const std::string& key : known_)
        valid += (valid.empty() ? "" : ", ") + key;
      fail(context_, ": unknown option '", entry.first, "'; valid: ", valid);
    }
  }
}

std::string format_options(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& entry : values) {
    out += (out.empty() ? "" : ";") + entry.first + "=" + entry.second;
  }
  return out;
}

}  // namespace cachegen
