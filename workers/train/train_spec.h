// What a `trainer:` section says, validated. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

enum class OptimizerKind { kAdam, kSgd };

// Memory layout of activations and conv weights while training. Measured on the CPU (oneDNN): channels-last
// makes the plain step 10-20% faster but the GradSigns step ~40% slower (PyTorch's convolution double
// backward is tuned for NCHW), so `auto` picks channels-last for plain training and NCHW with GradSigns.
enum class MemoryFormat { kAuto, kNchw, kChannelsLast };

struct TrainSpec {
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double lr = 1e-3;
  double momentum = 0.9;      // sgd
  bool nesterov = false;      // sgd
  double weight_decay = 0.0;  // L2 on conv kernels, added to the loss as in Keras (reference: 1e-4)
  // Step schedule: after epoch e (1-based epochs > e) the lr is lr * factor; the last matching entry wins.
  // `lr_schedule: reference` = {80: 0.1, 120: 0.01, 160: 0.001, 180: 0.0005}.
  std::vector<std::pair<int64_t, double>> lr_steps;
  // Reduce-on-plateau of the validation loss (0 patience = off). Reference: factor sqrt(0.1), patience 5,
  // though there Keras' LearningRateScheduler resets the lr every epoch, which makes it a no-op.
  int64_t plateau_patience = 0;
  double plateau_factor = 0.31622776601683794;
  double min_lr = 5e-7;
  int64_t epochs = 1;
  int64_t steps_per_epoch = 0;  // 0: one pass over the training split
  int64_t batch_size = 100;
  int64_t eval_batch_size = 1000;
  // Model selection: keep the epoch with the best accuracy + 0.5 * bit accuracy on a validation split
  // carved from the training data (reference: 50 target + 400 other images).
  bool select_best = false;
  int64_t validation_target = 50;
  int64_t validation_others = 400;
  uint64_t seed = 0;
  int threads = 0;  // 0: this process's share of its cores (common::core_share)
  // auto | cpu | cuda | cuda:N (workers/device/device.h). In a sweep it is a setting of the run, not of a
  // trial: every rank keeps the device it was given at start.
  std::string device = "auto";
  MemoryFormat memory_format = MemoryFormat::kAuto;
  // Resumable state (training_state.h) at the end of every `state_every_epochs`-th epoch and/or at the first
  // epoch end `state_every_minutes` after the last one (0 = not by that rule); also whenever the run is asked
  // to stop. Not part of a trial's identity (it changes no result).
  int64_t state_every_epochs = 1;
  double state_every_minutes = 0.0;
};

TrainSpec parse_train_spec(const common::ConfigNode& node);
const char* to_string(OptimizerKind k);
// The lr of 1-based `epoch` under the step schedule (without plateau reductions).
double scheduled_lr(const TrainSpec& spec, int64_t epoch);

}  // namespace signsweep::workers
