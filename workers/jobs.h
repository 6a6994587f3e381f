// What the CLI asks of a worker, behind a torch-free interface so that orchestrator/ never includes
// LibTorch: describe a data set, train one trial in this process.
// Thread-safety: each call owns everything it builds.
#pragma once

#include <cstdint>
#include <string>

#include "workers/trial_config.h"

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
};

// Loads the data, builds the model, trains and evaluates it, logging progress.
TrainOutcome train_trial(const TrialConfig& config);

}  // namespace signsweep::workers
