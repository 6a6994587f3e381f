#include "workers/data/dataset_spec.h"

#include <gtest/gtest.h>

#include "common/config.h"

namespace signsweep::workers {
namespace {

DatasetSpec parse(const std::string& yaml) {
  const auto root = common::ConfigNode::load_string(yaml, "d.yaml");
  DatasetSpec s = parse_dataset_spec(root.child("dataset"));
  root.check_all_keys_used();
  return s;
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DatasetSpecTest, fashion_mnist_defaults_to_the_debian_path_and_reference_normalisation) {
  const DatasetSpec s = parse("dataset:\n  name: fashion-mnist\n");
  EXPECT_EQ(s.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(s.normalization, Normalization::kPerPixelMean);
  EXPECT_FALSE(s.augment.enabled());
}

TEST(DatasetSpecTest, reads_format_keys_augment_and_subsets) {
  const DatasetSpec s = parse(
      "dataset:\n  name: synthetic\n  channels: 3\n  height: 6\n  width: 5\n  classes: 7\n"
      "  normalization: per-channel\n  augment: {shift: 0.1, flip: true}\n  train_per_class: 4\n");
  EXPECT_EQ(s.synthetic.shape, (ImageShape{3, 6, 5}));
  EXPECT_EQ(s.synthetic.num_classes, 7);
  EXPECT_EQ(s.normalization, Normalization::kPerChannel);
  EXPECT_DOUBLE_EQ(s.augment.shift, 0.1);
  EXPECT_TRUE(s.augment.flip);
  EXPECT_EQ(s.train_per_class, 4);
}

TEST(DatasetSpecTest, unknown_dataset_lists_the_known_ones) {
  const std::string msg = error_of("dataset:\n  name: imagenet\n");
  EXPECT_NE(msg.find("d.yaml:2:9: dataset.name = 'imagenet': unknown dataset; known: cifar10, fashion-mnist"),
            std::string::npos) << msg;
}

TEST(DatasetSpecTest, keys_of_another_format_are_unknown) {
  EXPECT_NE(error_of("dataset:\n  name: fashion-mnist\n  channels: 3\n").find("unknown key 'dataset.channels'"),
            std::string::npos);
  EXPECT_NE(error_of("dataset:\n  name: cifar10\n").find("missing required key 'dataset.path'"), std::string::npos);
  EXPECT_NE(error_of("dataset:\n  name: synthetic\n  augment: {shift: 0.7}\n").find("dataset.augment.shift = '0.7'"),
            std::string::npos);
}

TEST(DatasetSpecTest, image_folder_reads_resize_split_and_limits) {
  const DatasetSpec s = parse(
      "dataset:\n  name: image-folder\n  path: /data/ytf\n  channels: 1\n  resize: [55, 47]\n"
      "  split: {test_fraction: 0.2, seed: 3}\n  max_classes: 100\n  max_per_class: 50\n  subset_seed: 9\n");
  const ImageFolderOptions& o = s.image_folder;
  EXPECT_EQ(o.channels, 1);
  EXPECT_EQ(o.resize_height, 55);
  EXPECT_EQ(o.resize_width, 47);
  EXPECT_DOUBLE_EQ(o.test_fraction, 0.2);
  EXPECT_EQ(o.split_seed, 3U);
  EXPECT_EQ(o.max_classes, 100);
  EXPECT_EQ(o.max_per_class, 50);
  EXPECT_EQ(o.sample_seed, 9U);
  EXPECT_NE(source_key(s), source_key(parse("dataset:\n  name: image-folder\n  path: /data/ytf\n  channels: 1\n")));
}

TEST(DatasetSpecTest, image_folder_bad_values_name_key_and_value) {
  const std::string head = "dataset:\n  name: image-folder\n  path: /data/ytf\n";
  EXPECT_NE(error_of(head + "  resize: [32]\n").find("d.yaml:4:11: dataset.resize = '[32]': must be [height, width], each in [1, 4096]"),
            std::string::npos) << error_of(head + "  resize: [32]\n");
  EXPECT_NE(error_of(head + "  resize: [32, 100000]\n").find("dataset.resize"), std::string::npos);
  EXPECT_NE(error_of(head + "  split: {test_fraction: 1.5}\n").find("dataset.split.test_fraction = '1.5': must be in (0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  split: {seed: 1}\n").find("missing required key 'dataset.split.test_fraction'"), std::string::npos);
  EXPECT_NE(error_of(head + "  max_classes: 1\n").find("dataset.max_classes = '1': must be 0 (every class) or >= 2"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  max_per_class: -3\n").find("dataset.max_per_class = '-3'"), std::string::npos);
  EXPECT_NE(error_of(head + "  split: {test_fraction: 0.2, ratio: 1}\n").find("unknown key 'dataset.split.ratio'"), std::string::npos);
}

}  // namespace
}  // namespace signsweep::workers
