// The data set formats YAML can name (`dataset: {name: ...}`), each with its own keys, loader and header probe.
// Torch-free.
// Thread-safety: filled once by register_datasets (workers/registry.h: register_builtins); read-only after.
#pragma once

#include <functional>
#include <string>

#include "common/registry.h"
#include "workers/data/dataset_spec.h"
#include "workers/data/loaders.h"  // DataShape

namespace signsweep::workers {

struct DatasetEntry {
  std::string description;
  // Reads the format's own keys (path, channels, ...) into the spec.
  std::function<void(const common::ConfigNode&, DatasetSpec&)> parse;
  std::function<RawDataset(const DatasetSpec&)> load;
  std::function<DataShape(const DatasetSpec&)> probe;  // shape and class counts without loading (loaders.h)
};

common::Registry<DatasetEntry>& dataset_registry();
// Adds every built-in format. Idempotent.
void register_datasets();

}  // namespace signsweep::workers
