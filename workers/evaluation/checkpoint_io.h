// Model + watermark <-> storage::Checkpoint: what goes into a checkpoint file and how it is validated on
// the way back (every parameter and buffer by name and shape against a freshly built model of the
// recorded architecture; a mismatch names the file and the tensor).
// Thread-safety: functions only.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "storage/checkpoint.h"
#include "workers/data/dataset.h"
#include "workers/models/classifier.h"
#include "workers/schemes/scheme.h"
#include "workers/train/trial_config.h"

namespace signsweep::workers {

struct LoadedModel {
  Classifier model;
  TrialConfig config;  // as recorded (dataset section names where the data is)
  ImageShape input_shape;
  int64_t num_classes = 0;
  Normalizer normalizer;
  std::shared_ptr<const WatermarkScheme> scheme;  // null: not watermarked
  std::map<std::string, double> metrics;
};

void save_model_checkpoint(const std::string& path, ClassifierImpl& model, const TrialConfig& config,
                           const Dataset& dataset, const WatermarkScheme* scheme,
                           const std::map<std::string, double>& metrics, const std::string& origin = "");

LoadedModel load_model_checkpoint(const std::string& path, torch::Device device = torch::kCPU);

// Copies the checkpoint's tensors into `model`; throws DataError naming `origin` and the first tensor
// that is missing, extra or of another shape.
void load_state_into(ClassifierImpl& model, const storage::Checkpoint& checkpoint, const std::string& origin);

}  // namespace signsweep::workers
