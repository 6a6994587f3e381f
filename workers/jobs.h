// What the CLI asks of a worker, behind a torch-free interface so that orchestrator/ never includes
// LibTorch: describe a data set, train one trial in this process, verify a checkpoint.
// Thread-safety: each call owns everything it builds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workers/trial_config.h"

namespace signsweep::workers {

struct DatasetSummary {
  std::string text;     // human-readable, multi-line
  double load_seconds;  // files -> memory, normalised
  size_t bytes;         // memory held by the prepared tensors
};

// Loads and prepares the data set; throws DataError / ConfigError.
DatasetSummary describe_dataset(const DatasetSpec& spec);

struct RemoteReading {
  double h = 0.0;
  double ber = 0.0;
  int64_t queries = 0;
};

struct VerificationReport {
  bool watermarked = false;   // the checkpoint/trial carries secrets
  int64_t bits = 0;
  double ber_white_box = 0.0;         // bits from the mean projection over S x R test images
  double mean_repeat_ber_test = 0.0;  // the reference's figure, test images
  double mean_repeat_ber_train = 0.0;  // ... train images
  int64_t matched = 0;
  double p_value = 1.0;
  bool owned = false;
  double significance = 1e-6;
  std::vector<RemoteReading> remote;
  std::string text() const;  // one "key value" line per figure
};

struct TrainOutcome {
  int64_t parameters = 0;
  double test_accuracy = 0.0;
  double seconds = 0.0;
  double images_per_second = 0.0;  // last epoch
  int64_t best_epoch = 0;
  std::string checkpoint;
  VerificationReport verification;
};

// Loads the data, builds the model, trains (embedding the watermark when configured), verifies it and
// writes the checkpoint to `checkpoint_path` (atomically).
TrainOutcome train_trial(const TrialConfig& config, const std::string& checkpoint_path);

struct VerifyOptions {
  bool remote = false;
  std::vector<double> h;           // empty: the checkpoint's config
  int64_t images = 0;              // 0: the checkpoint's config
  int64_t repeats = 0;             // 0: the checkpoint's config
  std::string dataset_path;        // empty: where the checkpoint's config says
};

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

}  // namespace signsweep::workers
