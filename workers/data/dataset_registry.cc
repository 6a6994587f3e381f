// Registry entries for the data set formats: each reads its own keys and loads its files.
#include <fmt/format.h>

#include "common/config.h"
#include "workers/data/dataset_registry.h"

namespace signsweep::workers {
namespace {

constexpr const char* kFashionMnistDebianPath = "/usr/share/datasets/fashion-mnist";  // dataset-fashion-mnist

auto read_path(const char* fallback) {
  return [fallback](const common::ConfigNode& node, DatasetSpec& spec) {
    spec.path = fallback ? node.get<std::string>("path", fallback) : node.get<std::string>("path");
  };
}

// Dimensions past this are refused before anything is decoded (a typo, or a crafted config).
constexpr int64_t kMaxResizeSide = 4096;

void read_image_folder_keys(const common::ConfigNode& node, DatasetSpec& spec) {
  ImageFolderOptions& o = spec.image_folder;
  spec.path = node.get<std::string>("path");
  o.channels = node.get<int64_t>("channels", o.channels);
  node.require(o.channels == 1 || o.channels == 3, "channels", "must be 1 or 3");
  if (node.has("resize")) {
    const auto size = node.get<std::vector<int64_t>>("resize");
    node.require(size.size() == 2 && size[0] >= 1 && size[1] >= 1 && size[0] <= kMaxResizeSide && size[1] <= kMaxResizeSide,
                 "resize", fmt::format("must be [height, width], each in [1, {}]", kMaxResizeSide));
    o.resize_height = size[0];
    o.resize_width = size[1];
  }
  if (node.has("split")) {
    const common::ConfigNode split = node.child("split");
    o.test_fraction = split.get<double>("test_fraction");
    split.require(o.test_fraction > 0.0 && o.test_fraction < 1.0, "test_fraction", "must be in (0, 1)");
    o.split_seed = split.get<uint64_t>("seed", o.split_seed);
  }
  o.max_classes = node.get<int64_t>("max_classes", 0);
  node.require(o.max_classes == 0 || o.max_classes >= 2, "max_classes", "must be 0 (every class) or >= 2");
  o.max_per_class = node.get<int64_t>("max_per_class", 0);
  node.require(o.max_per_class >= 0, "max_per_class", "must be >= 0 (0 = every image)");
  // Limits that are off stay out of the resolved config: trials of folders read whole keep their ids.
  if (o.max_classes == 0) node.drop_resolved("max_classes");
  if (o.max_per_class == 0) node.drop_resolved("max_per_class");
  o.sample_seed = node.get<uint64_t>("subset_seed", 0);  // the seed of the dataset's other subsets
}

}  // namespace

common::Registry<DatasetEntry>& dataset_registry() {
  static common::Registry<DatasetEntry> r("dataset");
  return r;
}

void register_datasets() {
  auto& r = dataset_registry();
  r.add("fashion-mnist", DatasetEntry{"Fashion-MNIST IDX files (default: the Debian package's)",
                                      read_path(kFashionMnistDebianPath),
                                      [](const DatasetSpec& s) { return load_idx_dataset(s.path, "fashion-mnist"); },
                                      [](const DatasetSpec& s) { return probe_idx_dataset(s.path, "fashion-mnist"); }});
  r.add("mnist", DatasetEntry{"MNIST IDX files", read_path(nullptr),
                              [](const DatasetSpec& s) { return load_idx_dataset(s.path, "mnist"); },
                              [](const DatasetSpec& s) { return probe_idx_dataset(s.path, "mnist"); }});
  r.add("cifar10", DatasetEntry{"CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)", read_path(nullptr),
                                [](const DatasetSpec& s) { return load_cifar10_binary(s.path); },
                                [](const DatasetSpec& s) { return probe_cifar10_binary(s.path); }});
  r.add("svhn", DatasetEntry{"SVHN cropped digits (train_32x32.mat, test_32x32.mat)", read_path(nullptr),
                             [](const DatasetSpec& s) { return load_svhn(s.path); },
                             [](const DatasetSpec& s) { return probe_svhn(s.path); }});
  r.add("image-folder",
        DatasetEntry{"root/{train,test}/<class>/*.jpg|png (e.g. the CIFAR-10 JPEG copy, YouTube Faces)",
                     read_image_folder_keys,
                     [](const DatasetSpec& s) { return load_image_folder(s.path, s.image_folder, "image-folder"); },
                     [](const DatasetSpec& s) { return probe_image_folder(s.path, s.image_folder); }});
  r.add("synthetic",
        DatasetEntry{"generated, seeded: any shape and class count",
                     [](const common::ConfigNode& node, DatasetSpec& spec) {
                       SyntheticSpec& syn = spec.synthetic;
                       syn.shape.channels = node.get<int64_t>("channels", syn.shape.channels);
                       syn.shape.height = node.get<int64_t>("height", syn.shape.height);
                       syn.shape.width = node.get<int64_t>("width", syn.shape.width);
                       for (const char* key : {"channels", "height", "width"})
                         node.require(node.get<int64_t>(key, 1) >= 1, key, "must be >= 1");
                       syn.num_classes = node.get<int64_t>("classes", syn.num_classes);
                       node.require(syn.num_classes >= 2, "classes", "must be >= 2");
                       syn.train_size = node.get<int64_t>("train_size", syn.train_size);
                       node.require(syn.train_size >= syn.num_classes, "train_size", "must be >= classes");
                       syn.test_size = node.get<int64_t>("test_size", syn.test_size);
                       node.require(syn.test_size >= 1, "test_size", "must be >= 1");
                       syn.seed = node.get<uint64_t>("seed", syn.seed);
                     },
                     [](const DatasetSpec& s) { return make_synthetic(s.synthetic); },
                     [](const DatasetSpec& s) { return probe_synthetic(s.synthetic); }});
}

}  // namespace signsweep::workers
