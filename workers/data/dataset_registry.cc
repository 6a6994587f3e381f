// Registry entries for the data set formats: each reads its own keys and loads its files.
#include <fmt/format.h>

#include "common/config.h"
#include "workers/registry.h"

namespace signsweep::workers {
namespace {

constexpr const char* kFashionMnistDebianPath = "/usr/share/datasets/fashion-mnist";  // dataset-fashion-mnist

auto read_path(const char* fallback) {
  return [fallback](const common::ConfigNode& node, DatasetSpec& spec) {
    spec.path = fallback ? node.get<std::string>("path", fallback) : node.get<std::string>("path");
  };
}

}  // namespace

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
                     [](const common::ConfigNode& node, DatasetSpec& spec) {
                       spec.path = node.get<std::string>("path");
                       spec.channels = node.get<int64_t>("channels", 3);
                       node.require(spec.channels == 1 || spec.channels == 3, "channels", "must be 1 or 3");
                     },
                     [](const DatasetSpec& s) { return load_image_folder(s.path, s.channels, "image-folder"); },
                     [](const DatasetSpec& s) { return probe_image_folder(s.path, s.channels); }});
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
