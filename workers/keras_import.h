// The paper's released artifacts in our terms: a Keras ResNet-20 v1 file mapped onto `resnet20`
// (HWIO -> OIHW kernels, transposed dense kernel, BatchNorm gamma/beta/moving statistics; layers matched
// in creation order) and the reference's .npy watermark files read as WatermarkSecrets (carriers from
// the channels-last carrier mask, checked against the extended key when it is there).
// Thread-safety: functions only.
#pragma once

#include <string>

#include "storage/keras.h"
#include "workers/gradsigns/secrets.h"
#include "workers/models/classifier.h"

namespace signsweep::workers {

struct ImportedModel {
  Classifier model;
  ImageShape input_shape;
  int64_t num_classes = 0;
};

// Throws DataError naming the file and layer when the file is not a ResNet-20 v1 as the reference built it.
ImportedModel import_keras_resnet20(const std::string& path);

// wm.npy (N bits), embed_key.npy (N x C), grad_select.npy (D mask, C ones); embed_key_extended.npy
// (N x D) if present must agree. Target class `target_class`.
WatermarkSecrets load_reference_secrets(const std::string& dir, const ImageShape& shape, int64_t num_classes,
                                        int64_t target_class);

}  // namespace signsweep::workers
