// One trial's configuration as a file says it (`signsweep train <file>`): the dataset, model, trainer
// and (optional) watermark sections, validated strictly (unknown keys are errors), and its resolved form
// (every default filled in, keys sorted, numbers canonical; the watermark seed derived unless given).
// Torch-free.
#pragma once

#include <string>

#include "workers/data/dataset_spec.h"
#include "workers/schemes/watermark_spec.h"
#include "workers/models/model_spec.h"
#include "workers/train/train_spec.h"

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

struct TrialConfig {
  std::string file;  // where it was read from
  std::string yaml;  // the resolved config (defaults filled in, canonical): trial ids hash it, checkpoints keep it
  DatasetSpec dataset;
  ModelSpec model;
  TrainSpec trainer;
  WatermarkSpec watermark;  // enabled = false without a `watermark:` section
};

// Throws ConfigError naming the file, line and key of anything wrong.
TrialConfig load_trial_config(const std::string& path);
TrialConfig parse_trial_config(const common::ConfigNode& root);

}  // namespace signsweep::workers
