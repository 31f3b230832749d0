// A name-keyed registry of factories: codecs, network models, controllers and language models
// are created by the name a config or command line gives. An unknown name fails and lists the
// valid names.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/error.h"

namespace cachegen {

template <typename Base, typename... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Base>(Args...)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::string description, Factory factory) {
    if (entries_.count(name)) {
      fail(kind_, " '", name, "' is registered twice");
    }
    entries_[name] = Entry{std::move(description), std::move(factory)};
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  std::unique_ptr<Base> create(const std::string& name, Args... args) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      fail("unknown ", kind_, " '", name, "'; valid names: ", joined_names());
    }
    return it->second.factory(std::forward<Args>(args)...);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : entries_) {
      out.push_back(entry.first);
    }
    return out;
  }

  const std::string& description(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      fail("unknown ", kind_, " '", name, "'; valid names: ", joined_names());
    }
    return it->second.description;
  }

  std::string joined_names() const {
    std::string out;
    for (const auto& entry : entries_) {
      out += (out.empty() ? "" : ", ") + entry.first;
    }
    return out;
  }

 private:
  struct Entry {
    std::string description;
    Factory factory;
  };
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace cachegen
