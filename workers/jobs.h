// What the CLI asks of a worker, behind a torch-free interface so that orchestrator/ never includes
// LibTorch: describe a data set, train one trial in this process, verify a checkpoint.
// Thread-safety: each call owns everything it builds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/trial_results.h"
#include "workers/attacks/attack_spec.h"
#include "workers/train/step_progress.h"
#include "workers/trial_config.h"

namespace signsweep::comm {
class Collective;
}

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
  int64_t test_images = 0;    // > 0: test_accuracy was measured on that many test images (verify)
  double test_accuracy = 0.0;
  bool watermarked = false;   // the checkpoint/trial carries secrets
  bool white_box = true;      // the white-box figures below were read (an API attack reads only remotely)
  std::string scheme;         // gradsigns | uchida
  int64_t bits = 0;
  double ber_white_box = 0.0;         // bits from the mean projection over S x R test images
  double mean_repeat_ber_test = 0.0;  // the reference's figure, test images
  double mean_repeat_ber_train = 0.0;  // ... train images
  int64_t matched = 0;
  double p_value = 1.0;
  bool owned = false;
  // With non-watermarked reference models (VerifyOptions::null_models): their lowest BER is the threshold.
  int64_t null_models = 0;
  double empirical_threshold = 0.0;
  double null_mean_ber = 0.0;
  double null_false_positive_rate = 0.0;  // null models the binomial verdict judges owned
  bool owned_empirically = false;
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
  // Per-epoch series: loss, train_accuracy, test_accuracy, bit_accuracy, lr, images_per_second.
  std::map<std::string, std::vector<double>> series;
};

// Where a trial runs: alone, or data-parallel in a worker group (every rank of the group calls
// train_trial; group rank 0 verifies and writes the checkpoint, the others return after training).
struct TrialContext {
  comm::Collective* group = nullptr;
  std::function<void(const StepProgress&)> on_progress;
  double time_limit_s = 0.0;  // training fails at the first epoch end past it (0 = none)
  std::string device = "cpu";  // "cpu" or "cuda:K" (workers/device/device.h resolves trainer.device)
  std::string state_path;      // resumable training state (train/training_state.h); empty: none
  std::function<bool()> stop_requested;  // polled after every step: true saves the state and throws Interrupted
};

// Loads the data, builds the model, trains (embedding the watermark when configured), verifies it and
// writes the checkpoint to `checkpoint_path` (atomically).
TrainOutcome train_trial(const TrialConfig& config, const std::string& checkpoint_path, const TrialContext& context = {});

struct VerifyOptions {
  bool remote = false;
  std::vector<double> h;           // empty: the checkpoint's config
  int64_t images = 0;              // 0: the checkpoint's config
  int64_t repeats = 0;             // 0: the checkpoint's config
  std::string dataset_path;        // empty: where the checkpoint's config says
  std::vector<std::string> null_models;  // checkpoints of non-watermarked models for an empirical threshold
  bool allow_watermarked_null = false;   // else a null model that carries a watermark is refused
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

// `signsweep import --keras`: the same model, keys and preprocessing written as a signsweep checkpoint
// (atomically) whose config is the reference's recipe on options.data_dir, with the figures read here as
// its metrics and the Keras file named in its origin. `verify` and `attack` then take it like any other.
KerasVerifyReport import_keras_model(const KerasVerifyOptions& options, const std::string& checkpoint_path);

// A model given to a sweep (attack_checkpoints): validated as a watermarked signsweep checkpoint and copied to
// `destination` (atomically). `expected_hash` (common::sha256_hex of the file, or a store's older FNV content_hash; empty: not checked) guards
// against a file changed since the sweep was planned. Returns the metrics the checkpoint recorded.
std::map<std::string, double> adopt_checkpoint(const std::string& source, const std::string& destination,
                                               const std::string& expected_hash);

struct AttackReport {
  std::string attack;
  std::string parameters;  // the attack's YAML as given
  double accuracy_before = 0.0;
  double accuracy_after = 0.0;  // API attacks: through the attacked API; distill: the surrogate's
  VerificationReport before;    // the owner's watermark in the model as loaded
  VerificationReport after;     // ... after the attack (distill: read from the surrogate)
  std::map<std::string, double> figures;  // attack-specific (pruned_weights, epochs_run, attacker_ber, ...)
  double seconds = 0.0;
  std::string text() const;
};

struct AttackOptions {
  std::string output_checkpoint;  // empty: the attacked model is not written
  std::string dataset_path;       // empty: where the checkpoint's config says
  std::string device = "cpu";     // "cpu" or "cuda:K" (workers/device/device.h resolves trainer.device)
};

// Loads the watermarked checkpoint and its data, runs the attack and reads the owner's watermark before
// and after. Throws ConfigError/DataError (exit 2) on bad parameters, a checkpoint without a watermark,
// an attacker budget beyond the data.
AttackReport run_attack(const std::string& checkpoint_path, const AttackSpec& spec, const AttackOptions& options);

// The stored results of each outcome (core/trial_results.h): the one place their figures get names.
core::WatermarkReading reading_of(const VerificationReport& v);
core::TrialResults results_of(const TrainOutcome& out);
core::TrialResults results_of(const AttackReport& report);
// A watermark read again from its model and from null models (VerifyOptions::null_models).
core::TrialResults null_check_results_of(const VerificationReport& v, double seconds);

}  // namespace signsweep::workers
