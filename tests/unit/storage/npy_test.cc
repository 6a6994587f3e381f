#include "storage/npy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/errors.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(NpyTest, float32_matrix_in_c_order) {
  const auto a = parse_npy(testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                     raw<float>({1, 2, 3, 4, 5, 6})), "a.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(a.dtype, "<f4");
}

TEST(NpyTest, fortran_order_is_returned_in_c_order) {
  // The 2x3 matrix [[1,2,3],[4,5,6]] stored column-major: 1 4 2 5 3 6.
  const auto a = parse_npy(testing::npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                     raw<double>({1, 4, 2, 5, 3, 6})), "f.npy");
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(NpyTest, dtypes_scalars_1d_version2_and_big_endian) {
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", raw<uint8_t>({0, 1, 255})), "u")
                .values, (std::vector<double>{0, 1, 255}));
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", raw<uint8_t>({1, 0})), "b")
                .values, (std::vector<double>{1, 0}));
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", raw<int64_t>({-7})), "s").values,
            (std::vector<double>{-7}));
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", raw<int32_t>({5, -5}), 2), "v2")
                .values, (std::vector<double>{5, -5}));
  const std::string be("\x3f\x80\x00\x00", 4);  // 1.0f big-endian
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", be), "be").values,
            (std::vector<double>{1.0}));
  EXPECT_EQ(parse_npy(testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", ""), "e").numel(), 0);
}

std::string error_of(const std::string& bytes) {
  try {
    parse_npy(bytes, "bad.npy");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(NpyTest, corrupt_files_are_data_errors_naming_the_file) {
  EXPECT_NE(error_of("PK\x03\x04 not npy").find("bad.npy: not a .npy file"), std::string::npos);
  const std::string good = testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", raw<float>({1, 2, 3, 4}));
  EXPECT_NE(error_of(good.substr(0, good.size() - 3)).find("truncated?"), std::string::npos);
  EXPECT_NE(error_of(good.substr(0, 40)).find("truncated .npy header"), std::string::npos);
  EXPECT_NE(error_of(testing::npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", raw<float>({1, 2})))
                .find("unsupported dtype '<c8'"), std::string::npos);
  EXPECT_NE(error_of(testing::npy_bytes("{'descr': '<f4', 'shape': (1,), }", raw<float>({1}))).find("no 'fortran_order'"),
            std::string::npos);
  EXPECT_NE(error_of(testing::npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", raw<float>({1})))
                .find("shape entry 'x'"), std::string::npos);
  std::string v9 = good;
  v9[6] = 9;
  EXPECT_NE(error_of(v9).find("unsupported .npy format version 9"), std::string::npos);
}

TEST(NpyTest, reads_the_reference_key_files) {
  const std::string dir = std::string(SIGNSWEEP_SHARED_DIR) + "/reference/gradsigns-cifar10-64bit/";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " not present";
  const auto wm = read_npy(dir + "wm.npy");
  EXPECT_EQ(wm.shape, (std::vector<int64_t>{64}));
  for (const double b : wm.values) EXPECT_TRUE(b == 0.0 || b == 1.0);
  EXPECT_EQ(read_npy(dir + "embed_key.npy").shape, (std::vector<int64_t>{64, 384}));
  const auto mask = read_npy(dir + "grad_select.npy");
  EXPECT_EQ(mask.numel(), 3072);
  EXPECT_EQ(std::count(mask.values.begin(), mask.values.end(), 1.0), 384);
}

}  // namespace
}  // namespace signsweep::storage
