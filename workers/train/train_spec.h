// What a `trainer:` section says, validated. Torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

enum class OptimizerKind { kAdam, kSgd };

struct TrainSpec {
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double lr = 1e-3;
  double momentum = 0.9;     // sgd
  bool nesterov = false;     // sgd
  double weight_decay = 0.0;  // L2 on conv kernels, added to the loss as in Keras (reference: 1e-4)
  int64_t epochs = 1;
  int64_t steps_per_epoch = 0;  // 0: one pass over the training split
  int64_t batch_size = 100;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 0;
  int threads = 0;  // 0: every core
};

TrainSpec parse_train_spec(const common::ConfigNode& node);
const char* to_string(OptimizerKind k);

}  // namespace signsweep::workers
