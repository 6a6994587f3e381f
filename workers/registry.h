// Name -> factory tables for what YAML names: data sets, models (and later schemes and attacks).
// Filled by register_builtins(), called once from main and from test mains: no static-initialiser
// registration (a static library silently drops those). Torch-free.
// Thread-safety: fill before starting threads; lookups are then read-only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "workers/data/dataset_spec.h"

namespace signsweep::workers {

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

struct DatasetEntry {
  std::string description;
  // Reads the format's own keys (path, channels, ...) into the spec.
  std::function<void(const common::ConfigNode&, DatasetSpec&)> parse;
  std::function<RawDataset(const DatasetSpec&)> load;
  std::function<DataShape(const DatasetSpec&)> probe;  // shape and class counts without loading (loaders.h)
};

class ClassifierImpl;
struct ModelSpec;
struct ModelEntry {
  std::string description;
  // Reads the model's own keys into the spec.
  std::function<void(const common::ConfigNode&, ModelSpec&)> parse;
  std::function<std::shared_ptr<ClassifierImpl>(const ModelSpec&, const ImageShape&, int64_t num_classes)> build;
};

Registry<DatasetEntry>& dataset_registry();
Registry<ModelEntry>& model_registry();

// Registers every built-in data set and model. Idempotent.
void register_builtins();

}  // namespace signsweep::workers
