// The training loop (llm.c shape): build the optimiser, then per epoch a fenced training section
// (batch, forward, loss, backward, step) and, after the fence, evaluation and one progress line.
// Thread-safety: one trainer per thread; uses LibTorch's intra-op threads.
#pragma once

#include <vector>

#include "workers/data/dataset.h"
#include "workers/models/classifier.h"
#include "workers/train/train_spec.h"

namespace signsweep::workers {

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  double loss = 0.0;  // mean training loss
  double train_accuracy = 0.0;
  double test_accuracy = 0.0;
  double images_per_second = 0.0;
  double lr = 0.0;
};

struct TrainResult {
  std::vector<EpochStats> epochs;
  double test_accuracy = 0.0;
  double seconds = 0.0;
};

// Seeds LibTorch and sets its thread count from the spec: call before building the model.
void seed_and_set_threads(const TrainSpec& spec);

// Trains `model` on dataset.train; evaluates on dataset.test after every epoch.
TrainResult train_classifier(ClassifierImpl& model, const Dataset& dataset, const TrainSpec& spec);

// Top-1 accuracy in inference mode, in batches of `batch_size`.
double evaluate_accuracy(ClassifierImpl& model, const Split& split, int64_t batch_size);

}  // namespace signsweep::workers
