// Model checkpoints as HDF5 files a user opens with h5py (format "signsweep-checkpoint", version 1):
//   /                     attrs format, format_version, model, created_by[, origin]
//   /config               the trial's resolved YAML (string)
//   /model/parameters/<name>, /model/buffers/<name>   every tensor by its module path (float32 / int64)
//   /data                 attrs dataset, input_shape (CxHxW), num_classes, normalization
//   /data/mean, /data/inv_std                          normaliser statistics
//   /watermark/{signature,carriers,key}                + attrs scheme, target_class, flatten, seed, lambda[, layer]
//   /metrics              attrs: final scalars (test_accuracy, ber_white_box, ...)
// Saving is atomic (temporary file, fsync, rename), and the file carries the SHA-256 of its content in its HDF5
// user block (sealed_file.h). Loading refuses a file whose content does not match it (CorruptFile), checks the
// format and version (with a hint) and throws DataError naming the file and the object. Torch-free: tensors travel as flat arrays.
// Thread-safety: HDF5 is used from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/vocabulary.h"

namespace signsweep::storage {

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> f32;  // exactly one of f32 / i64 holds the values
  std::vector<int64_t> i64;
  bool is_int = false;
  int64_t numel() const;
};

struct WatermarkRecord {
  std::string scheme = core::to_string(core::SchemeKind::kGradSigns);  // read as is; schemes/ decides
  std::vector<int64_t> signature;
  std::vector<int64_t> carriers;
  std::vector<float> key;  // bits x carriers (gradsigns) or bits x layer size (uchida), row-major
  std::string layer;       // weight schemes: the parameter that carries the signature
  int64_t target_class = 0;
  std::string flatten = "nhwc";
  uint64_t seed = 0;
  double lambda = 0.0;
};

struct Checkpoint {
  std::string model;       // registry name
  std::string config_yaml;
  std::string created_by;  // signsweep version and commit
  std::string origin;      // where the model came from when signsweep did not train it (import); "" otherwise
  std::vector<std::pair<std::string, Array>> parameters;
  std::vector<std::pair<std::string, Array>> buffers;
  std::string dataset;
  std::vector<int64_t> input_shape;  // C, H, W
  int64_t num_classes = 0;
  std::string normalization;
  Array mean;
  Array inv_std;
  bool has_watermark = false;
  WatermarkRecord watermark;
  std::map<std::string, double> metrics;
};

constexpr const char* kCheckpointFormat = "signsweep-checkpoint";
constexpr int64_t kCheckpointVersion = 1;

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Checkpoint load_checkpoint(const std::string& path);

}  // namespace signsweep::storage
