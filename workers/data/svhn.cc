// SVHN cropped-digits reader (train_32x32.mat / test_32x32.mat, MATLAB v5) through libmatio.
// X is uint8 32x32x3xN in MATLAB's column-major order: element (row, col, ch, n) is at
// row + 32*col + 1024*ch + 3072*n. y is double Nx1 with labels 1..10, where 10 means digit 0.
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "common/errors.h"
#include "workers/data/loaders.h"

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

}  // namespace

ImageSet read_svhn_mat(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(fmt::format("{}: file not found", path));
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw DataError(fmt::format("{}: not a MATLAB .mat file", path));
  const MatVar x = read_var(mat.get(), path, "X");
  const MatVar y = read_var(mat.get(), path, "y");
  if (x->rank != 4 || x->data_type != MAT_T_UINT8 || x->dims[2] != 3)
    throw DataError(fmt::format("{}: X must be uint8 HxWx3xN (rank {}, class {})", path, x->rank,
                                static_cast<int>(x->class_type)));
  const auto h = static_cast<int64_t>(x->dims[0]);
  const auto w = static_cast<int64_t>(x->dims[1]);
  const auto n = static_cast<int64_t>(x->dims[3]);
  if (y->class_type != MAT_C_DOUBLE || static_cast<int64_t>(y->dims[0] * y->dims[1]) != n)
    throw DataError(fmt::format("{}: y must be double Nx1 with N = {} (X's image count)", path, n));

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

  const auto* labels = static_cast<const double*>(y->data);
  set.labels.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double l = labels[i];
    if (l != std::floor(l) || l < 1 || l > 10)
      throw DataError(fmt::format("{}: y({}) = {} is out of range (labels are 1..10, 10 meaning 0)", path, i + 1, l));
    set.labels.push_back(static_cast<int64_t>(l) % 10);
  }
  return set;
}

RawDataset load_svhn(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw DataError(fmt::format("{}: svhn directory not found", dir));
  RawDataset ds;
  ds.name = "svhn";
  ds.source = dir;
  ds.num_classes = 10;
  ds.class_names = numbered_class_names(10);
  ds.train = read_svhn_mat((fs::path(dir) / "train_32x32.mat").string());
  ds.test = read_svhn_mat((fs::path(dir) / "test_32x32.mat").string());
  return ds;
}

}  // namespace signsweep::workers
