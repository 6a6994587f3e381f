// The `train` verb and what a sweep's training and given-checkpoint trials call: describe a data set, train
// one trial in this process (alone or in a data-parallel group), take a given checkpoint into the store.
// Torch-free, so that orchestrator/ never includes LibTorch.
// Thread-safety: each call owns everything it builds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "workers/evaluation/verification.h"
#include "workers/train/step_progress.h"
#include "workers/train/trial_config.h"

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

// A model given to a sweep (attack_checkpoints): validated as a watermarked signsweep checkpoint and copied to
// `destination` (atomically). `expected_hash` (common::sha256_hex of the file, or a store's older FNV content_hash; empty: not checked) guards
// against a file changed since the sweep was planned. Returns the metrics the checkpoint recorded.
std::map<std::string, double> adopt_checkpoint(const std::string& source, const std::string& destination,
                                               const std::string& expected_hash);

// The training's outcome as a trial stores it (core/trial_results.h).
core::TrialResults results_of(const TrainOutcome& out);

}  // namespace signsweep::workers
