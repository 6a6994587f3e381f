#include <gtest/gtest.h>

#include "common/errors.h"
#include "tests/support/files.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

// MATLAB column-major X(r, c, ch, n) = r + 2*c + 10*ch + 40*n for 4x5 images.
std::vector<uint8_t> x_colmajor(int n) {
  std::vector<uint8_t> x;
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int c = 0; c < 5; ++c)
        for (int r = 0; r < 4; ++r) x.push_back(static_cast<uint8_t>(r + 2 * c + 10 * ch + 40 * i));
  return x;
}

TEST(SvhnTest, transposes_matlab_order_to_chw_and_maps_label_10_to_0) {
  testing::TempDir dir;
  testing::write_svhn_mat(dir.file("train_32x32.mat"), 4, 5, x_colmajor(3), {1, 10, 5});
  testing::write_svhn_mat(dir.file("test_32x32.mat"), 4, 5, x_colmajor(1), {10});
  const RawDataset ds = load_svhn(dir.path().string());
  EXPECT_EQ(ds.train.labels, (std::vector<int64_t>{1, 0, 5}));
  EXPECT_EQ(ds.test.labels, (std::vector<int64_t>{0}));
  EXPECT_EQ(ds.train.shape, (ImageShape{3, 4, 5}));
  // image 2, channel 1, row 3, col 4 -> 3 + 8 + 10 + 80
  EXPECT_EQ(ds.train.image(2)[1 * 20 + 3 * 5 + 4], 101);
}

TEST(SvhnTest, compressed_variables_read_as_uncompressed_ones) {
  testing::TempDir dir;
  testing::write_svhn_mat(dir.file("plain.mat"), 4, 5, x_colmajor(3), {1, 10, 5}, false);
  testing::write_svhn_mat(dir.file("zlib.mat"), 4, 5, x_colmajor(3), {1, 10, 5}, true);
  EXPECT_NE(testing::read_bytes(dir.file("plain.mat")), testing::read_bytes(dir.file("zlib.mat")));
  const ImageSet plain = read_svhn_mat(dir.file("plain.mat"));
  const ImageSet zlib = read_svhn_mat(dir.file("zlib.mat"));
  EXPECT_EQ(plain.pixels, zlib.pixels);
  EXPECT_EQ(plain.labels, zlib.labels);
}

TEST(SvhnTest, headers_claiming_more_than_the_file_holds_are_refused_before_matio_reads_them) {
  testing::TempDir dir;
  testing::write_svhn_mat(dir.file("a.mat"), 4, 5, x_colmajor(1), {3});
  std::vector<uint8_t> bytes = testing::read_bytes(dir.file("a.mat"));
  // The first variable's dimensions element (after the 128-byte header, the matrix tag and the array flags):
  // its byte count set to 1.3 GB, which matio would allocate as a dimension list.
  const size_t dims_size = 128 + 8 + 16 + 4;
  bytes[dims_size] = 0x08, bytes[dims_size + 1] = 0x00, bytes[dims_size + 2] = 0x00, bytes[dims_size + 3] = 0x4D;
  testing::write_bytes(dir.file("a.mat"), bytes);
  const std::string message = testing::message_of<DataError>([&] { read_svhn_mat(dir.file("a.mat")); });
  EXPECT_NE(message.find("a.mat: not a MATLAB v5 file signsweep reads: dimensions claims 1291845640 bytes"), std::string::npos)
      << message;
}

TEST(SvhnTest, a_header_of_another_version_is_refused_before_matio_reads_it_as_another_format) {
  testing::TempDir dir;
  testing::write_svhn_mat(dir.file("a.mat"), 4, 5, x_colmajor(1), {3});
  std::vector<uint8_t> bytes = testing::read_bytes(dir.file("a.mat"));
  // Version 0x414d: matio would try the file as MATLAB v4 and allocate the name length its first bytes give
  // (a 128-byte fuzzer input asked for 1.7 GB: tests/fuzz_findings/svhn_mat).
  bytes[124] = 'M', bytes[125] = 'A';
  testing::write_bytes(dir.file("a.mat"), bytes);
  const std::string message = testing::message_of<DataError>([&] { read_svhn_mat(dir.file("a.mat")); });
  EXPECT_NE(message.find("a.mat: not a MATLAB v5 .mat file (header version 0x414d, v5's is 0x0100)"), std::string::npos)
      << message;
}

TEST(SvhnTest, label_out_of_range_and_non_mat_file_are_named) {
  testing::TempDir dir;
  testing::write_svhn_mat(dir.file("train_32x32.mat"), 4, 5, x_colmajor(2), {3, 11});
  try {
    read_svhn_mat(dir.file("train_32x32.mat"));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("train_32x32.mat: y(2) = 11 is out of range"), std::string::npos) << e.what();
  }
  testing::write_bytes(dir.file("junk.mat"), {1, 2, 3});
  EXPECT_THROW(read_svhn_mat(dir.file("junk.mat")), DataError);
  EXPECT_THROW(read_svhn_mat(dir.file("absent.mat")), DataError);
}

}  // namespace
}  // namespace signsweep::workers
