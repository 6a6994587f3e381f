#include "workers/data/dataset_spec.h"

#include <fmt/format.h>

#include "common/config.h"
#include "workers/data/dataset_registry.h"

namespace signsweep::workers {

const char* to_string(Normalization n) {
  switch (n) {
    case Normalization::kNone: return "none";
    case Normalization::kPerPixelMean: return "per-pixel-mean";
    case Normalization::kPerChannel: return "per-channel";
  }
  return "?";
}

std::optional<Normalization> normalization_from_string(const std::string& name) {
  for (const Normalization n : {Normalization::kNone, Normalization::kPerPixelMean, Normalization::kPerChannel})
    if (name == to_string(n)) return n;
  return std::nullopt;
}

DatasetSpec parse_dataset_spec(const common::ConfigNode& node) {
  DatasetSpec spec;
  spec.name = node.get<std::string>("name");
  const DatasetEntry& entry = dataset_registry().get(node, "name", spec.name);
  entry.parse(node, spec);

  const std::string norm = node.get_choice("normalization", {"per-pixel-mean", "per-channel", "none"}, "per-pixel-mean");
  spec.normalization = *normalization_from_string(norm);  // get_choice admitted only known names
  const common::ConfigNode augment = node.child_or_empty("augment");
  spec.augment.shift = augment.get<double>("shift", 0.0);
  augment.require(spec.augment.shift >= 0.0 && spec.augment.shift < 0.5, "shift", "must be in [0, 0.5)");
  spec.augment.flip = augment.get<bool>("flip", false);

  spec.train_per_class = node.get<int64_t>("train_per_class", 0);
  node.require(spec.train_per_class >= 0, "train_per_class", "must be >= 0 (0 = all)");
  spec.test_per_class = node.get<int64_t>("test_per_class", 0);
  node.require(spec.test_per_class >= 0, "test_per_class", "must be >= 0 (0 = all)");
  spec.subset_seed = node.get<uint64_t>("subset_seed", 0);
  return spec;
}

std::string source_key(const DatasetSpec& s) {
  const ImageFolderOptions& f = s.image_folder;
  const SyntheticSpec& syn = s.synthetic;
  return fmt::format("{}|{}|folder {} {}x{} {} {} {} {} {}|synthetic {} {} {} {} {}", s.name, s.path, f.channels, f.resize_height,
                     f.resize_width, f.test_fraction, f.split_seed, f.max_classes, f.max_per_class, f.sample_seed,
                     to_string(syn.shape), syn.num_classes, syn.train_size, syn.test_size, syn.seed);
}

namespace {

const DatasetEntry& entry_of(const DatasetSpec& spec) {
  const auto& entries = dataset_registry().entries();
  const auto it = entries.find(spec.name);
  if (it == entries.end()) throw ConfigError(fmt::format("unknown dataset '{}'", spec.name));
  return it->second;
}

}  // namespace

RawDataset load_raw_dataset(const DatasetSpec& spec) { return entry_of(spec).load(spec); }

DataShape probe_dataset(const DatasetSpec& spec) { return entry_of(spec).probe(spec); }

}  // namespace signsweep::workers
