#include "storage/h5.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
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

TEST(H5Test, tables_and_attribute_maps_round_trip_exactly) {
  testing::TempDir dir;
  const std::string path = dir.file("t.h5");
  std::map<std::string, std::vector<double>> columns;
  for (int i = 0; i < 300; ++i) {  // more rows than one chunk (256)
    columns["loss"].push_back(std::exp(-i / 7.0));
    columns["lr"].push_back(i == 0 ? std::numeric_limits<double>::denorm_min() : 1.0 / i);
  }
  const std::map<std::string, std::string> strings = {{"host", "n1"}, {"empty", ""}};
  const std::map<std::string, double> doubles = {{"acc", 0.1}, {"ber", -0.0}};
  {
    File f(path, OpenMode::kTruncate);
    f.write_table("/t/series", columns);
    EXPECT_THROW(f.write_table("/t/none", {}), StorageError);
    f.write_table("/t/no_rows", {{"loss", {}}});
    f.set_attributes("/t/s", strings);
    f.set_attributes("/t/d", doubles);
    f.set_attribute("/t/s", "count", int64_t{3});  // not a string: left out of string_attributes
    EXPECT_THROW(f.write_table("/bad", {{"a", {1.0}}, {"b", {1.0, 2.0}}}), StorageError);
  }
  const File f(path, OpenMode::kReadOnly);
  const auto back = f.read_table("/t/series");
  ASSERT_EQ(back.size(), 2U);
  for (const auto& [name, values] : columns) {
    ASSERT_EQ(back.at(name).size(), values.size()) << name;
    EXPECT_EQ(std::memcmp(back.at(name).data(), values.data(), values.size() * sizeof(double)), 0) << name;
  }
  EXPECT_TRUE(f.read_table("/t/no_rows").at("loss").empty());
  EXPECT_EQ(f.string_attributes("/t/s"), strings);
  const auto d = f.double_attributes("/t/d");
  EXPECT_EQ(d.at("acc"), 0.1);
  EXPECT_TRUE(std::signbit(d.at("ber")));
  EXPECT_TRUE(f.string_attributes("/absent").empty());
  EXPECT_TRUE(f.is_group("/t"));
  EXPECT_FALSE(f.is_group("/t/series"));
  EXPECT_THROW(f.read_table("/t"), DataError);  // opened read-only: a file given to us, so bad input
  // h5dump shows one chunked, gzip'd, resizable dataset with a field per column.
  const std::string out = dir.file("dump.txt");
  ASSERT_EQ(std::system(("h5dump -p -H -d /t/series " + path + " > " + out).c_str()), 0);
  const auto bytes = testing::read_bytes(out);
  const std::string text(bytes.begin(), bytes.end());
  for (const char* s : {"H5T_COMPOUND", "\"loss\"", "\"lr\"", "CHUNKED ( 256 )", "COMPRESSION", "H5S_UNLIMITED", "( 300 )"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
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
  {
    // Read-only: a file someone gave us; what it lacks is bad input (exit 2).
    const File f(dir.file("m.h5"), OpenMode::kReadOnly);
    const std::string message = testing::message_of<DataError>([&] { f.read_doubles("/nothing/here"); });
    EXPECT_NE(message.find("m.h5:/nothing/here: open dataset failed"), std::string::npos) << message;
  }
  // Opened for writing: a file signsweep keeps; a failure there is a storage failure (exit 1).
  const File f(dir.file("m.h5"), OpenMode::kReadWrite);
  const std::string message = testing::message_of<StorageError>([&] { f.read_doubles("/nothing/here"); });
  EXPECT_NE(message.find("m.h5:/nothing/here: open dataset failed"), std::string::npos) << message;
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
