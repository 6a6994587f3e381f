// SVHN cropped-digits reader (train_32x32.mat / test_32x32.mat, MATLAB v5) through libmatio.
// X is uint8 32x32x3xN in MATLAB's column-major order: element (row, col, ch, n) is at
// row + 32*col + 1024*ch + 3072*n. y is double Nx1 with labels 1..10, where 10 means digit 0.
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"
#include "workers/data/loaders.h"
#include "workers/data/mat_check.h"

namespace signsweep::workers {
namespace {

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

MatVar read_var(mat_t* mat, const std::string& path, const char* name) {
  MatVar v(Mat_VarRead(mat, name));
  if (!v) throw DataError(fmt::format("{}: variable '{}' missing or unreadable", path, name));
  return v;
}

MatFile open_mat(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(fmt::format("{}: file not found", path));
  check_mat_v5_headers(path);  // before matio allocates what the headers say
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw DataError(fmt::format("{}: not a MATLAB .mat file", path));
  return mat;
}

// X's header (HxWx3xN uint8), checked against the format and signsweep's limits; Mat_VarReadInfo reads no
// pixel, so a header asking for more is refused before matio allocates it.
void check_images(const matvar_t& x, const std::string& path) {
  if (x.rank != 4 || x.class_type != MAT_C_UINT8 || x.dims[2] != 3)
    throw DataError(fmt::format("{}: X must be uint8 HxWx3xN (rank {}, class {})", path, x.rank,
                                static_cast<int>(x.class_type)));
  limits::check(path, "image height", static_cast<int64_t>(x.dims[0]), limits::kMaxImageSide);
  limits::check(path, "image width", static_cast<int64_t>(x.dims[1]), limits::kMaxImageSide);
  limits::check(path, "image count", static_cast<int64_t>(x.dims[3]), limits::kMaxImages);
  const int64_t image_bytes = static_cast<int64_t>(x.dims[0] * x.dims[1] * 3);
  limits::check(path, "pixel bytes", limits::saturated_product(image_bytes, static_cast<int64_t>(x.dims[3])),
                limits::kMaxDatasetBytes);
}

// The header of variable `name`, without its data.
MatVar read_info(mat_t* mat, const std::string& path, const char* name) {
  MatVar v(Mat_VarReadInfo(mat, name));
  if (!v) throw DataError(fmt::format("{}: variable '{}' missing or unreadable", path, name));
  return v;
}

// A variable read with its data: matio must have read every element its header promises, of `type`, and
// real (a complex variable's data is matio's pair of pointers to its parts, not its elements).
void require_data(const matvar_t& v, const std::string& path, const char* name, matio_types type, size_t element_bytes) {
  if (v.isComplex != 0) throw DataError(fmt::format("{}: variable '{}' is complex; SVHN's are real", path, name));
  size_t numel = 1;
  for (int d = 0; d < v.rank; ++d) numel *= v.dims[d];
  if (v.data == nullptr || v.data_type != type || v.data_size != static_cast<int>(element_bytes) ||
      v.nbytes < numel * element_bytes)
    throw DataError(fmt::format("{}: variable '{}' holds less data than its header promises (truncated or corrupt)", path, name));
}

// y's header: double Nx1 with N = X's image count `n`.
void check_labels(const matvar_t& y, const std::string& path, int64_t n) {
  if (y.class_type != MAT_C_DOUBLE || y.rank != 2 || static_cast<int64_t>(y.dims[0] * y.dims[1]) != n)
    throw DataError(fmt::format("{}: y must be double Nx1 with N = {} (X's image count)", path, n));
}

// y as digits 0..9 (10 means 0), checked against X's image count `n`. matio parses a header again when it
// reads the data; both parses are checked, because the second one's dims are what the data is indexed by.
std::vector<int64_t> read_labels(mat_t* mat, const std::string& path, int64_t n) {
  check_labels(*read_info(mat, path, "y"), path, n);
  const MatVar y = read_var(mat, path, "y");
  check_labels(*y, path, n);
  require_data(*y, path, "y", MAT_T_DOUBLE, sizeof(double));
  const auto* values = static_cast<const double*>(y->data);
  std::vector<int64_t> labels;
  labels.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double l = values[i];
    if (l != std::floor(l) || l < 1 || l > 10)
      throw DataError(fmt::format("{}: y({}) = {} is out of range (labels are 1..10, 10 meaning 0)", path, i + 1, l));
    labels.push_back(static_cast<int64_t>(l) % 10);
  }
  return labels;
}

constexpr int64_t kSvhnClasses = 10;

ImageShape probe_svhn_mat(const std::string& path, std::vector<int64_t>& counts) {
  const MatFile mat = open_mat(path);
  const MatVar x = read_info(mat.get(), path, "X");
  check_images(*x, path);
  counts = class_counts(read_labels(mat.get(), path, static_cast<int64_t>(x->dims[3])), kSvhnClasses);
  return ImageShape{3, static_cast<int64_t>(x->dims[0]), static_cast<int64_t>(x->dims[1])};
}

void require_directory(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw DataError(fmt::format("{}: svhn directory not found", dir));
}

std::string mat_path(const std::string& dir, const char* file) { return (std::filesystem::path(dir) / file).string(); }

}  // namespace

DataShape probe_svhn(const std::string& dir) {
  require_directory(dir);
  DataShape d;
  d.num_classes = kSvhnClasses;
  d.shape = probe_svhn_mat(mat_path(dir, "train_32x32.mat"), d.train_per_class);
  probe_svhn_mat(mat_path(dir, "test_32x32.mat"), d.test_per_class);
  return d;
}

ImageSet read_svhn_mat(const std::string& path) {
  const MatFile mat = open_mat(path);
  check_images(*read_info(mat.get(), path, "X"), path);  // before matio allocates the pixels
  const MatVar x = read_var(mat.get(), path, "X");
  check_images(*x, path);  // the header of the read, whose dims index the pixels below
  require_data(*x, path, "X", MAT_T_UINT8, 1);
  const auto h = static_cast<int64_t>(x->dims[0]);
  const auto w = static_cast<int64_t>(x->dims[1]);
  const auto n = static_cast<int64_t>(x->dims[3]);
  const std::vector<int64_t> labels = read_labels(mat.get(), path, n);

  ImageSet set;
  set.shape = ImageShape{3, h, w};
  set.pixels.resize(static_cast<size_t>(n * 3 * h * w));
  const auto* src = static_cast<const uint8_t*>(x->data);
  uint8_t* dst = set.pixels.data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col)
          *dst++ = src[r + h * col + h * w * c + h * w * 3 * i];

  set.labels = labels;
  return set;
}

RawDataset load_svhn(const std::string& dir) {
  require_directory(dir);
  RawDataset ds;
  ds.name = "svhn";
  ds.source = dir;
  ds.num_classes = kSvhnClasses;
  ds.class_names = numbered_class_names(kSvhnClasses);
  ds.train = read_svhn_mat(mat_path(dir, "train_32x32.mat"));
  ds.test = read_svhn_mat(mat_path(dir, "test_32x32.mat"));
  return ds;
}

}  // namespace signsweep::workers
