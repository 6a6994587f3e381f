// The resumable state of a training run (trainer.h): everything the rest of the run depends on. The
// trainer writes it at epoch ends (trainer.checkpoint_every) and when the run is asked to stop (after the
// step in progress); a relaunch reads it back and, on the same machine with the same thread count, ends
// with exactly the model an uninterrupted run ends with. One file per trial (<store>/states/<id>.pt),
// a LibTorch archive written atomically (temporary name, fsync, rename); the store removes it when the
// trial ends.
// Thread-safety: one trainer.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "workers/data/dataset.h"
#include "workers/data/sampling.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {

struct TrainingState {
  int64_t epoch = 1;  // the epoch in progress (1-based); > epochs when training is over
  int64_t step = 0;   // its steps done
  // Its accumulators (on the model's device until saved).
  torch::Tensor loss_sum, reg_sum, correct;
  int64_t seen = 0;
  // Reduce-on-plateau and model selection.
  double plateau_factor = 1.0;
  double best_monitored = INFINITY;
  int64_t epochs_without_improvement = 0;
  double best_score = -INFINITY;
  int64_t best_epoch = 0;
  std::vector<torch::Tensor> best_state;  // parameters then buffers of the best epoch (select_best)
  std::vector<EpochStats> epochs;         // the finished epochs
};

// With `state`: the model's parameters and buffers, the optimizer's state, the sampler's and the
// augmentation's generators and LibTorch's CPU generator.
void save_training_state(const std::string& path, const TrainingState& state, ClassifierImpl& model,
                         torch::optim::Optimizer& optimizer, const BatchSampler& sampler, const Batcher& batcher);

// Reads a state back into all of those; DataError naming the file when it does not fit them (another
// model, another data split).
TrainingState load_training_state(const std::string& path, ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                                  BatchSampler& sampler, Batcher& batcher);

}  // namespace signsweep::workers
