#include <gtest/gtest.h>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

using testing::TempDir;

std::vector<uint8_t> ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7);
  return v;
}

void write_idx_dataset(const TempDir& dir, bool gz) {
  const std::string ext = gz ? ".gz" : "";
  testing::write_idx_images(dir.file("train-images-idx3-ubyte" + ext), 5, 3, 2, ramp(30), gz);
  testing::write_idx_labels(dir.file("train-labels-idx1-ubyte" + ext), {0, 1, 2, 9, 4}, gz);
  testing::write_idx_images(dir.file("t10k-images-idx3-ubyte" + ext), 2, 3, 2, ramp(12), gz);
  testing::write_idx_labels(dir.file("t10k-labels-idx1-ubyte" + ext), {3, 3}, gz);
}

TEST(IdxTest, reads_gzipped_and_plain_files_identically) {
  for (const bool gz : {true, false}) {
    TempDir dir;
    write_idx_dataset(dir, gz);
    const RawDataset ds = load_idx_dataset(dir.path().string(), "mnist");
    EXPECT_EQ(ds.train.shape, (ImageShape{1, 3, 2}));
    EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{0, 1, 2, 9, 4}));
    EXPECT_EQ(ds.train.pixels, ramp(30));
    EXPECT_EQ(ds.test.size(), 2);
    EXPECT_EQ(ds.num_classes, 10);
  }
}

TEST(IdxTest, wrong_magic_names_file_and_offset) {
  TempDir dir;
  write_idx_dataset(dir, false);
  testing::write_idx_labels(dir.file("train-images-idx3-ubyte"), {1, 2}, false);  // a label file in its place
  const std::string msg = testing::message_of<DataError>([&] { load_idx_dataset(dir.path().string(), "mnist"); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte: wrong magic number 0x00000801 at offset 0"), std::string::npos) << msg;
}

TEST(IdxTest, truncated_file_names_the_offset) {
  TempDir dir;
  write_idx_dataset(dir, false);
  auto bytes = testing::read_bytes(dir.file("train-images-idx3-ubyte"));
  bytes.resize(16 + 20);  // header + 20 of 30 pixels
  testing::write_bytes(dir.file("train-images-idx3-ubyte"), bytes);
  const std::string msg = testing::message_of<DataError>([&] { load_idx_dataset(dir.path().string(), "mnist"); });
  EXPECT_NE(msg.find("truncated at offset 36"), std::string::npos) << msg;
}

TEST(IdxTest, label_out_of_range_names_record) {
  TempDir dir;
  write_idx_dataset(dir, true);
  testing::write_idx_labels(dir.file("train-labels-idx1-ubyte.gz"), {0, 1, 12, 3, 4}, true);
  const std::string msg = testing::message_of<DataError>([&] { load_idx_dataset(dir.path().string(), "mnist"); });
  EXPECT_NE(msg.find("label 12 of record 2 (offset 10) is out of range"), std::string::npos) << msg;
}

TEST(IdxTest, label_count_mismatch_and_missing_dir) {
  TempDir dir;
  write_idx_dataset(dir, false);
  testing::write_idx_labels(dir.file("train-labels-idx1-ubyte"), {0, 1}, false);
  EXPECT_NE(testing::message_of<DataError>([&] { load_idx_dataset(dir.path().string(), "mnist"); }).find("2 labels but"), std::string::npos);
  EXPECT_NE(testing::message_of<DataError>([] { load_idx_dataset("/no/such/dir", "mnist"); }).find("/no/such/dir"), std::string::npos);
}

TEST(IdxTest, loads_the_real_fashion_mnist) {
  const RawDataset ds = load_idx_dataset(SIGNSWEEP_FASHION_MNIST_DIR, "fashion-mnist");
  EXPECT_EQ(ds.train.size(), 60000);
  EXPECT_EQ(ds.test.size(), 10000);
  EXPECT_EQ(ds.train.shape, (ImageShape{1, 28, 28}));
  EXPECT_EQ(class_counts(ds.train.labels, 10), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(class_counts(ds.test.labels, 10), std::vector<int64_t>(10, 1000));
  EXPECT_EQ(ds.class_names.at(9), "ankle-boot");
}

}  // namespace
}  // namespace signsweep::workers
