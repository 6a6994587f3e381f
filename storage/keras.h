// Reader (and writer, for a copy: storage/foreign.h) of Keras HDF5 model files (Keras 2.x `model.save`): the layer list from the root attribute
// `model_config` (JSON, in creation order) and every layer's weights from /model_weights/<layer>/<layer>/
// <name>:0 in Keras' own layouts (conv kernels HWIO, dense kernels (in, out)). Mapping the layers onto a
// signsweep model is the workers' job (workers/keras_import.h). Torch-free.
// Thread-safety: functions only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage/checkpoint.h"

namespace signsweep::storage {

struct KerasLayer {
  std::string name;        // e.g. conv2d_3
  std::string class_name;  // e.g. Conv2D, BatchNormalization, Dense
  std::string padding;     // Conv2D: "same" / "valid"
  std::vector<int64_t> strides;
  double epsilon = 0.0;    // BatchNormalization
  std::map<std::string, Array> weights;  // kernel, bias, gamma, beta, moving_mean, moving_variance
};

struct KerasModel {
  std::string keras_version;
  std::vector<int64_t> input_shape;  // without the batch dimension, channels-last (H, W, C)
  std::vector<KerasLayer> layers;    // creation order (model_config), weightless layers included
};

// Throws DataError naming the file and the layer for anything missing or malformed.
KerasModel read_keras_model(const std::string& path);
// Writes `model` as Keras lays it out (model_config with each layer's name, class, padding, strides, epsilon and
// the input shape on the first InputLayer; weights at /model_weights/<layer>/<layer>/<name>:0), so that
// read_keras_model gives `model` back. Atomic (storage/atomic_file.h).
void write_keras_model(const std::string& path, const KerasModel& model);
// The layer list and input shape of a model_config JSON text (no weights); `origin` names the file in errors.
KerasModel parse_keras_config(const std::string& json_text, const std::string& origin);

}  // namespace signsweep::storage
