// The `verify` and `import` verbs: read a checkpoint's watermark (white-box, through the prediction API,
// against null models), and read or import the model released with the paper (Keras HDF5 + keys).
// Torch-free.
// Thread-safety: each call owns everything it builds.
#pragma once

#include <cstdint>
#include <string>

#include "workers/evaluation/verification.h"

namespace signsweep::workers {

// Reads the watermark of a checkpoint back on its data set's test (and train) images.
VerificationReport verify_checkpoint(const std::string& checkpoint_path, const VerifyOptions& options);

struct KerasVerifyOptions {
  std::string model_path;  // Keras HDF5 ResNet-20 v1 (the reference's)
  std::string keys_dir;    // wm.npy, embed_key.npy, grad_select.npy [, embed_key_extended.npy]
  std::string data_dir;    // image-folder root: CIFAR-10 as train/<class>/*.jpg, test/<class>/*.jpg
  int64_t target_class = 0;
  VerifyOptions verify;    // remote, h (default 1e-1..1e-4), images (50), repeats (20)
};

struct KerasVerifyReport {
  double test_accuracy = 0.0;
  int64_t test_images = 0;
  VerificationReport verification;
};

// Imports the Keras model and the reference's keys, preprocesses the data as the reference does
// (x/255 minus the training set's per-pixel mean) and reads the watermark back.
KerasVerifyReport verify_keras_model(const KerasVerifyOptions& options);

// `signsweep import --keras`: the same model, keys and preprocessing written as a signsweep checkpoint
// (atomically) whose config is the reference's recipe on options.data_dir, with the figures read here as
// its metrics and the Keras file named in its origin. `verify` and `attack` then take it like any other.
KerasVerifyReport import_keras_model(const KerasVerifyOptions& options, const std::string& checkpoint_path);

}  // namespace signsweep::workers
