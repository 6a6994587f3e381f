#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"
#include "workers/data/sampling.h"

namespace signsweep::workers {
namespace {

namespace fs = std::filesystem;

// A 2x3 RGB image whose pixel (r, c, ch) is base + 10*r + 3*c + ch.
std::vector<uint8_t> hwc(uint8_t base) {
  std::vector<uint8_t> v;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c)
      for (int ch = 0; ch < 3; ++ch) v.push_back(static_cast<uint8_t>(base + 10 * r + 3 * c + ch));
  return v;
}

void make_tree(const testing::TempDir& dir) {
  for (const char* split : {"train", "test"})
    for (const char* cls : {"cat", "ant"}) fs::create_directories(dir.path() / split / cls);
  testing::write_png(dir.file("train/ant/a.png"), 2, 3, 3, hwc(0));
  testing::write_png(dir.file("train/ant/b.png"), 2, 3, 3, hwc(50));
  testing::write_png(dir.file("train/cat/a.png"), 2, 3, 3, hwc(100));
  testing::write_png(dir.file("test/ant/x.png"), 2, 3, 3, hwc(150));
  testing::write_jpeg(dir.file("test/cat/y.jpg"), 2, 3, 3, hwc(200));
}

TEST(ImageFolderTest, classes_are_sorted_folders_and_pixels_are_chw) {
  testing::TempDir dir;
  make_tree(dir);
  const RawDataset ds = load_image_folder(dir.path().string(), ImageFolderOptions{3}, "image-folder");
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"ant", "cat"}));
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(ds.train.shape, (ImageShape{3, 2, 3}));
  // image 1 (train/ant/b.png), channel 2, row 1, col 2 = 50 + 10 + 6 + 2
  EXPECT_EQ(ds.train.image(1)[2 * 6 + 1 * 3 + 2], 68);
  EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{0, 1}));
  // JPEG at quality 100 is close to the original
  EXPECT_NEAR(ds.test.image(1)[0], 200, 4);
}

TEST(ImageFolderTest, grayscale_conversion) {
  testing::TempDir dir;
  make_tree(dir);
  const RawDataset ds = load_image_folder(dir.path().string(), ImageFolderOptions{1}, "image-folder");
  EXPECT_EQ(ds.train.shape, (ImageShape{1, 2, 3}));
}

TEST(ImageFolderTest, empty_class_folder_is_named) {
  testing::TempDir dir;
  make_tree(dir);
  fs::remove(dir.file("test/cat/y.jpg"));
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); }).find("test/cat: empty class folder"),
            std::string::npos);
}

TEST(ImageFolderTest, undecodable_image_is_named) {
  testing::TempDir dir;
  make_tree(dir);
  testing::write_bytes(dir.file("train/cat/broken.jpg"), {0xFF, 0xD8, 0x00, 0x01, 0x02});
  const std::string msg = testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); });
  EXPECT_NE(msg.find("train/cat/broken.jpg: undecodable JPEG"), std::string::npos) << msg;
  testing::write_bytes(dir.file("train/cat/broken.jpg"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); }).find("broken.jpg: undecodable image"),
            std::string::npos);
}

TEST(ImageFolderTest, mixed_sizes_and_missing_split_are_errors) {
  testing::TempDir dir;
  make_tree(dir);
  testing::write_png(dir.file("train/cat/big.png"), 4, 4, 3, std::vector<uint8_t>(48, 1));
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); }).find("all images must have one size"),
            std::string::npos);
  fs::remove_all(dir.path() / "test");
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); }).find("test: directory not found"),
            std::string::npos);
}

// A folder of class folders as YouTube Faces comes: root/<identity>/*.png, `count` images each, of
// different sizes (h x w = 4+k x 6+k), each a constant gray value.
void make_identities(const testing::TempDir& dir, int classes, int count) {
  for (int c = 0; c < classes; ++c) {
    const fs::path cls = dir.path() / fmt::format("person{:02d}", c);
    fs::create_directories(cls);
    for (int k = 0; k < count; ++k)
      testing::write_png((cls / fmt::format("{:03d}.png", k)).string(), 4 + k % 3, 6 + k % 3, 3,
                         std::vector<uint8_t>(static_cast<size_t>((4 + k % 3) * (6 + k % 3) * 3), static_cast<uint8_t>(10 * c + k)));
  }
}

ImageFolderOptions split_options(double test_fraction, uint64_t seed) {
  ImageFolderOptions o;
  o.resize_height = 4;
  o.resize_width = 5;
  o.test_fraction = test_fraction;
  o.split_seed = seed;
  return o;
}

TEST(ImageFolderTest, resize_keeps_constant_images_and_averages_when_shrinking) {
  EXPECT_EQ(resize_bilinear(std::vector<unsigned char>(6 * 8 * 3, 77), 6, 8, 3, 3, 5), std::vector<unsigned char>(3 * 5 * 3, 77));
  // a 1-pixel checkerboard halved: away from the border (where the filter is cut and renormalised) every
  // output pixel weighs black and white equally (taps 1/4, 3/4, 3/4, 1/4 per axis), not one of them
  std::vector<unsigned char> board;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) board.push_back((r + c) % 2 ? 255 : 0);
  const auto half = resize_bilinear(board, 8, 8, 1, 4, 4);
  for (const int r : {1, 2})
    for (const int c : {1, 2}) EXPECT_NEAR(half[static_cast<size_t>(r * 4 + c)], 128, 1);
  // upscaling a step 0 | 255 along x gives a monotone ramp from 0 to 255 inside [0, 255]
  const auto ramp = resize_bilinear({0, 255}, 1, 2, 1, 1, 8);
  EXPECT_TRUE(std::is_sorted(ramp.begin(), ramp.end()));
  EXPECT_EQ(ramp.front(), 0);
  EXPECT_EQ(ramp.back(), 255);
}

TEST(ImageFolderTest, split_resize_and_limits_make_a_folder_of_identities_a_data_set) {
  testing::TempDir dir;
  make_identities(dir, 5, 10);
  ImageFolderOptions o = split_options(0.3, 7);
  const RawDataset ds = load_image_folder(dir.path().string(), o, "ytf");
  EXPECT_EQ(ds.class_names.size(), 5U);
  EXPECT_EQ(ds.train.shape, (ImageShape{3, 4, 5}));  // every size resized to [4, 5]
  EXPECT_EQ(class_counts(ds.test.labels, 5), std::vector<int64_t>(5, 3));   // round(0.3 x 10)
  EXPECT_EQ(class_counts(ds.train.labels, 5), std::vector<int64_t>(5, 7));
  // the split is seeded: the same seed gives the same test images, another seed others
  const RawDataset again = load_image_folder(dir.path().string(), o, "ytf");
  EXPECT_EQ(again.test.pixels, ds.test.pixels);
  o.split_seed = 8;
  EXPECT_NE(load_image_folder(dir.path().string(), o, "ytf").test.pixels, ds.test.pixels);
  // limits: the first 3 identities in sorted order, at most 4 images each before the split
  o.max_classes = 3;
  o.max_per_class = 4;
  const RawDataset small = load_image_folder(dir.path().string(), o, "ytf");
  EXPECT_EQ(small.class_names, (std::vector<std::string>{"person00", "person01", "person02"}));
  EXPECT_EQ(small.train.size() + small.test.size(), 12);
  const DataShape probe = probe_image_folder(dir.path().string(), o);
  EXPECT_EQ(probe.shape, (ImageShape{3, 4, 5}));
  EXPECT_EQ(probe.train_per_class, class_counts(small.train.labels, 3));
  EXPECT_EQ(probe.test_per_class, class_counts(small.test.labels, 3));
}

TEST(ImageFolderTest, split_errors_name_the_folder) {
  testing::TempDir dir;
  make_identities(dir, 2, 1);
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), split_options(0.3, 0), "f"); })
                .find("person00: 1 image(s) are too few for a test fraction of 0.3"),
            std::string::npos);
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), ImageFolderOptions{3}, "f"); })
                .find("or split: {test_fraction: F} for a folder of class folders"),
            std::string::npos);
  testing::TempDir tree;
  make_tree(tree);
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(tree.path().string(), split_options(0.3, 0), "f"); })
                .find("has train/ and test/ already"),
            std::string::npos);
}

TEST(ImageFolderTest, reads_the_real_cifar10_jpeg_copy_when_unpacked) {
  const char* dir = std::getenv("SIGNSWEEP_CIFAR10_JPEG_DIR");
  if (dir == nullptr) GTEST_SKIP() << "SIGNSWEEP_CIFAR10_JPEG_DIR not set (.ci/run sets it)";
  const RawDataset ds = load_image_folder(dir, ImageFolderOptions{3}, "image-folder");
  EXPECT_EQ(ds.train.size(), 50000);
  EXPECT_EQ(ds.test.size(), 10000);
  EXPECT_EQ(ds.train.shape, (ImageShape{3, 32, 32}));
  EXPECT_EQ(ds.class_names.front(), "airplane");
  EXPECT_EQ(class_counts(ds.test.labels, 10), std::vector<int64_t>(10, 1000));
}

}  // namespace
}  // namespace signsweep::workers
