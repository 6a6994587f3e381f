#include "storage/h5.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/errors.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

TEST(H5Test, datasets_and_attributes_round_trip_exactly) {
  testing::TempDir dir;
  const std::string path = dir.file("t.h5");
  const std::vector<double> d = {0.1, -1e-300, std::numeric_limits<double>::max(), M_PI};
  std::vector<float> big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = std::sin(static_cast<float>(i));
  const std::vector<int64_t> ints = {-5, 1LL << 40};
  {
    File f(path, OpenMode::kTruncate);
    f.write("/a/b/doubles", {2, 2}, d.data());
    f.write("/a/big", {100, 100}, big.data());
    f.write("/ints", {2}, ints.data());
    f.write_string("/text", "line1\nline2: ü");
    f.set_attribute("/a", "note", std::string("hello"));
    f.set_attribute("/", "pi", M_PI);
    f.set_attribute("/a/b/doubles", "count", int64_t{42});
  }
  const File f(path, OpenMode::kReadOnly);
  EXPECT_EQ(f.read_doubles("/a/b/doubles"), d);
  EXPECT_EQ(f.shape("/a/b/doubles"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(f.read_floats("/a/big"), big);
  EXPECT_EQ(f.read_int64s("/ints"), ints);
  EXPECT_EQ(f.read_string("/text"), "line1\nline2: ü");
  EXPECT_EQ(f.string_attribute("/a", "note"), "hello");
  EXPECT_EQ(f.double_attribute("/", "pi"), M_PI);
  EXPECT_EQ(f.int_attribute("/a/b/doubles", "count"), 42);
  EXPECT_TRUE(f.exists("/a/b"));
  EXPECT_FALSE(f.exists("/a/c"));
  EXPECT_EQ(f.list("/a"), (std::vector<std::string>{"b", "big"}));
}

TEST(H5Test, h5dump_reads_what_we_write) {
  testing::TempDir dir;
  const std::string path = dir.file("d.h5");
  const std::vector<float> v = {1.5F, 2.5F};
  {
    File f(path, OpenMode::kTruncate);
    f.write("/g/v", {2}, v.data());
  }
  const std::string out = dir.file("dump.txt");
  ASSERT_EQ(std::system(("h5dump -d /g/v " + path + " > " + out).c_str()), 0);
  const auto bytes = testing::read_bytes(out);
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_NE(text.find("1.5, 2.5"), std::string::npos) << text;
}

TEST(H5Test, not_hdf5_truncated_and_missing_files_are_input_errors) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("x.h5"), {'n', 'o', 'p', 'e'});
  EXPECT_THROW(File(dir.file("x.h5"), OpenMode::kReadOnly), DataError);
  EXPECT_THROW(File(dir.file("absent.h5"), OpenMode::kReadOnly), DataError);
  {
    File f(dir.file("ok.h5"), OpenMode::kTruncate);
    std::vector<double> v(50000, 1.0);
    f.write("/v", {50000}, v.data());
  }
  auto bytes = testing::read_bytes(dir.file("ok.h5"));
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(dir.file("half.h5"), bytes);
  EXPECT_THROW(File(dir.file("half.h5"), OpenMode::kReadOnly), DataError);
}

TEST(H5Test, missing_object_names_file_and_path) {
  testing::TempDir dir;
  { File f(dir.file("m.h5"), OpenMode::kTruncate); }
  const File f(dir.file("m.h5"), OpenMode::kReadOnly);
  try {
    f.read_doubles("/nothing/here");
    FAIL();
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("m.h5:/nothing/here: open dataset failed"), std::string::npos) << e.what();
  }
}

TEST(H5Test, atomic_write_leaves_old_file_when_filling_throws) {
  testing::TempDir dir;
  const std::string path = dir.file("a.h5");
  write_atomically(path, [](File& f) { f.set_attribute("/", "version", int64_t{1}); });
  EXPECT_THROW(write_atomically(path, [](File& f) {
                 f.set_attribute("/", "version", int64_t{2});
                 throw StorageError("disk full (simulated)");
               }),
               StorageError);
  EXPECT_EQ(File(path, OpenMode::kReadOnly).int_attribute("/", "version"), 1);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
}

}  // namespace
}  // namespace signsweep::storage
