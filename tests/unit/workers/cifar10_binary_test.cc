#include <gtest/gtest.h>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

std::vector<uint8_t> images(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n * 3072);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 31 + seed);
  return v;
}

void write_cifar_dir(const testing::TempDir& dir) {
  for (int b = 1; b <= 5; ++b)
    testing::write_cifar10_batch(dir.file("data_batch_" + std::to_string(b) + ".bin"), {uint8_t(b), 0},
                                 images(2, static_cast<uint8_t>(b)));
  testing::write_cifar10_batch(dir.file("test_batch.bin"), {9, 8, 7}, images(3, 77));
}

TEST(Cifar10BinaryTest, reads_all_batches_in_order_as_chw) {
  testing::TempDir dir;
  write_cifar_dir(dir);
  const RawDataset ds = load_cifar10_binary(dir.path().string());
  EXPECT_EQ(ds.train.size(), 10);
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{1, 0, 2, 0, 3, 0, 4, 0, 5, 0}));
  EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{9, 8, 7}));
  EXPECT_EQ(ds.test.shape, (ImageShape{3, 32, 32}));
  const auto expected = images(3, 77);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), ds.test.pixels.begin()));
  EXPECT_EQ(ds.class_names.front(), "airplane");
}

TEST(Cifar10BinaryTest, wrong_record_size_names_file_and_record) {
  testing::TempDir dir;
  write_cifar_dir(dir);
  auto bytes = testing::read_bytes(dir.file("data_batch_3.bin"));
  bytes.resize(bytes.size() - 100);
  testing::write_bytes(dir.file("data_batch_3.bin"), bytes);
  try {
    load_cifar10_binary(dir.path().string());
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("data_batch_3.bin: size 6046 bytes is not a whole number of 3073-byte"),
              std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("record 1 is incomplete"), std::string::npos) << e.what();
  }
}

TEST(Cifar10BinaryTest, label_out_of_range_names_record_offset) {
  testing::TempDir dir;
  write_cifar_dir(dir);
  testing::write_cifar10_batch(dir.file("test_batch.bin"), {1, 10}, images(2, 0));
  try {
    load_cifar10_binary(dir.path().string());
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("test_batch.bin: label 10 of record 1 (offset 3073)"), std::string::npos) << e.what();
  }
}

TEST(Cifar10BinaryTest, missing_batch_file_is_named) {
  testing::TempDir dir;
  write_cifar_dir(dir);
  std::filesystem::remove(dir.file("data_batch_4.bin"));
  EXPECT_THROW(
      {
        try {
          load_cifar10_binary(dir.path().string());
        } catch (const DataError& e) {
          EXPECT_NE(std::string(e.what()).find("data_batch_4.bin"), std::string::npos);
          throw;
        }
      },
      DataError);
}

}  // namespace
}  // namespace signsweep::workers
