// What a `dataset:` section of a config says, validated: which format and where, how to normalise,
// augment and subset. Parsing is separate from loading so that a sweep can be validated before any
// rank reads data. Torch-free.
// Thread-safety: plain values; the registry of formats is filled once in main (register_builtins).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "workers/data/loaders.h"

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

enum class Normalization { kNone, kPerPixelMean, kPerChannel };
const char* to_string(Normalization n);
// The inverse of to_string; nullopt for an unknown name.
std::optional<Normalization> normalization_from_string(const std::string& name);

struct AugmentOptions {
  double shift = 0.0;  // fraction of height/width, e.g. 0.1
  bool flip = false;   // random horizontal flip
  bool enabled() const { return shift > 0.0 || flip; }
};

struct DatasetSpec {
  std::string name;          // registry name: fashion-mnist, mnist, cifar10, image-folder, svhn, synthetic
  std::string path;          // file-backed formats
  ImageFolderOptions image_folder;  // image-folder
  SyntheticSpec synthetic;   // synthetic
  Normalization normalization = Normalization::kPerPixelMean;
  AugmentOptions augment;
  int64_t train_per_class = 0;  // 0: all images; else a seeded per-class subset
  int64_t test_per_class = 0;
  uint64_t subset_seed = 0;
};

// Reads and validates a `dataset:` mapping (throws ConfigError with file:line and key).
DatasetSpec parse_dataset_spec(const common::ConfigNode& node);
// What decides the files read and their shape (name, path, format options): equal keys, equal probes.
std::string source_key(const DatasetSpec& spec);
// Loads the files the spec names (throws DataError naming the file).
RawDataset load_raw_dataset(const DatasetSpec& spec);
// The data set's shape, classes and images per class in its files (before train_per_class / test_per_class
// subsets), from headers and listings; throws DataError naming the file.
DataShape probe_dataset(const DatasetSpec& spec);

}  // namespace signsweep::workers
