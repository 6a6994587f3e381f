// A name -> entry table for what YAML names (data set formats, models): an unknown name is a ConfigError
// that lists the known ones. Tables are filled by explicit register functions (workers/registry.h:
// register_builtins, called once from main and from test mains), never by static initialisers (a static
// library silently drops those).
// Thread-safety: fill before starting threads; lookups are then read-only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config.h"

namespace signsweep::common {

template <typename Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}
  void add(const std::string& name, Entry entry) { entries_[name] = std::move(entry); }
  // The entry for the value of `key` in `at`; an unknown name is a ConfigError listing the known ones.
  const Entry& get(const common::ConfigNode& at, const std::string& key, const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) at.fail(key, "unknown " + kind_ + "; known: " + joined_names());
    return it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }
  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  std::string joined_names() const {
    std::string s;
    for (const auto& kv : entries_) s += (s.empty() ? "" : ", ") + kv.first;
    return s;
  }
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace signsweep::common
