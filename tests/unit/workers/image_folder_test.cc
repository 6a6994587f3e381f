#include <gtest/gtest.h>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"

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
  const RawDataset ds = load_image_folder(dir.path().string(), 3, "image-folder");
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
  const RawDataset ds = load_image_folder(dir.path().string(), 1, "image-folder");
  EXPECT_EQ(ds.train.shape, (ImageShape{1, 2, 3}));
}

TEST(ImageFolderTest, empty_class_folder_is_named) {
  testing::TempDir dir;
  make_tree(dir);
  fs::remove(dir.file("test/cat/y.jpg"));
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), 3, "f"); }).find("test/cat: empty class folder"),
            std::string::npos);
}

TEST(ImageFolderTest, undecodable_image_is_named) {
  testing::TempDir dir;
  make_tree(dir);
  testing::write_bytes(dir.file("train/cat/broken.jpg"), {0xFF, 0xD8, 0x00, 0x01, 0x02});
  const std::string msg = testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), 3, "f"); });
  EXPECT_NE(msg.find("train/cat/broken.jpg: undecodable JPEG"), std::string::npos) << msg;
  testing::write_bytes(dir.file("train/cat/broken.jpg"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), 3, "f"); }).find("broken.jpg: undecodable image"),
            std::string::npos);
}

TEST(ImageFolderTest, mixed_sizes_and_missing_split_are_errors) {
  testing::TempDir dir;
  make_tree(dir);
  testing::write_png(dir.file("train/cat/big.png"), 4, 4, 3, std::vector<uint8_t>(48, 1));
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), 3, "f"); }).find("all images must have one size"),
            std::string::npos);
  fs::remove_all(dir.path() / "test");
  EXPECT_NE(testing::message_of<DataError>([&] { load_image_folder(dir.path().string(), 3, "f"); }).find("test: directory not found"),
            std::string::npos);
}

TEST(ImageFolderTest, reads_the_real_cifar10_jpeg_copy_when_unpacked) {
  const char* dir = std::getenv("SIGNSWEEP_CIFAR10_JPEG_DIR");
  if (dir == nullptr) GTEST_SKIP() << "SIGNSWEEP_CIFAR10_JPEG_DIR not set (.ci/run sets it)";
  const RawDataset ds = load_image_folder(dir, 3, "image-folder");
  EXPECT_EQ(ds.train.size(), 50000);
  EXPECT_EQ(ds.test.size(), 10000);
  EXPECT_EQ(ds.train.shape, (ImageShape{3, 32, 32}));
  EXPECT_EQ(ds.class_names.front(), "airplane");
  EXPECT_EQ(class_counts(ds.test.labels, 10), std::vector<int64_t>(10, 1000));
}

}  // namespace
}  // namespace signsweep::workers
