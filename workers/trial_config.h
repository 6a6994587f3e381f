// One trial's configuration as a file says it (`signsweep train <file>`): the dataset, model and
// trainer sections, validated strictly (unknown keys are errors). Torch-free.
#pragma once

#include <string>

#include "workers/data/dataset_spec.h"
#include "workers/models/model_spec.h"
#include "workers/train/train_spec.h"

namespace signsweep::workers {

struct TrialConfig {
  std::string file;  // where it was read from
  DatasetSpec dataset;
  ModelSpec model;
  TrainSpec trainer;
};

// Throws ConfigError naming the file, line and key of anything wrong.
TrialConfig load_trial_config(const std::string& path);

}  // namespace signsweep::workers
