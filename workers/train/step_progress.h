// What the trainer reports while it runs (to the progress bar's pace), torch-free so that the job API
// and the orchestrator can carry it.
#pragma once

#include <cstdint>
#include <vector>

namespace signsweep::workers {

struct StepProgress {
  int64_t epoch = 0, step = 0, steps = 0;
  double loss = 0.0, images_per_second = 0.0;
  // Set on the report at the end of an epoch (step == steps), 0 otherwise.
  double train_accuracy = 0.0, bit_accuracy = 0.0;
  // The duration of every step since the previous report (and of its gradient allreduce in a group), in
  // seconds: metrics histograms observe each step.
  std::vector<double> step_seconds, allreduce_seconds;
  int64_t images = 0;  // the images those steps trained on, every rank of a data-parallel group counted
};

}  // namespace signsweep::workers
