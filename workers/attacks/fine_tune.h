// The training loop every training attack shares (fine-tuning, masked fine-tuning after pruning,
// overwriting, distillation): epochs over the attacker's fine-tune split, early stopping on validation
// accuracy (Keras EarlyStopping as in the reference: stop after `patience` epochs without improvement,
// keep the last weights).
// Thread-safety: one loop per model.
#pragma once

#include <functional>
#include <vector>

#include "workers/attacks/attack_spec.h"
#include "workers/attacks/basic_attacks.h"
#include "workers/data/dataset.h"
#include "workers/schemes/scheme.h"

namespace signsweep::workers {

struct FineTuneOptions {
  FineTuneSpec spec;
  // FTLL/RTLL: only the head trains and the rest of the model stays in inference mode (BatchNorm statistics
  // frozen), so nothing but the head changes.
  bool last_layer_only = false;
  std::vector<PruneMask> masks;             // re-applied after every step
  const WatermarkScheme* scheme = nullptr;  // overwriting: the attacker's regularizer
  int64_t target_per_batch = 10;
  torch::Tensor soft_targets;  // distillation: teacher probabilities at `temperature`, one row per train image
  double temperature = 1.0;
  uint64_t seed = 0;
  std::function<void()> on_step;  // after every step (may be empty)
};

struct FineTuneResult {
  int64_t epochs_run = 0;
  double validation_accuracy = 0.0;  // of the final weights
};

FineTuneResult fine_tune(ClassifierImpl& model, const Split& train, const Split& validation, const FineTuneOptions& options);

}  // namespace signsweep::workers
