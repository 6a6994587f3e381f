// The training loop (llm.c shape): build the optimiser and samplers (or resume them from a saved state),
// then per epoch a fenced training section (batch, forward, task loss + watermark term, backward, step) and,
// after the fence, the epoch's end in small steps: its figures, evaluation, the group's decisions, model
// selection and the plateau rule, one progress line, the resumable state.
// Thread-safety: one trainer per thread; uses LibTorch's intra-op threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "workers/data/dataset.h"
#include "workers/schemes/scheme.h"
#include "workers/models/classifier.h"
#include "workers/train/step_progress.h"
#include "workers/train/train_spec.h"

namespace signsweep::comm {
class Collective;
}

namespace signsweep::workers {

struct EmbedOptions {
  const WatermarkScheme* scheme = nullptr;  // null: plain training
  int64_t target_per_batch = 10;            // images of the scheme's batch target class in every batch
  // Data-parallel group (null: this process alone). trainer.batch_size is the global batch: every rank
  // draws the same batches (same seeds, augmentation included) and trains on its share, 1/k of the target
  // images and 1/k of the others (both counts must divide by k); steps per epoch and the lr schedule are
  // the one-process recipe's; gradients are summed over the group. What differs from one process:
  // BatchNorm normalises each rank's share with its own batch statistics, and each rank's running
  // statistics follow its shares (group rank 0's are kept); selection and lr decisions follow group rank 0.
  comm::Collective* group = nullptr;
  std::function<void(const StepProgress&)> on_progress;  // at the progress bar's pace (a few per second)
  // Wall-clock limit: checked at every epoch end (group rank 0 decides for the group), Error past it.
  double time_limit_s = 0.0;
  // Resumable state (training_state.h): written here at epoch ends (trainer.checkpoint_every) and on a stop
  // request, by group rank 0; when the file exists at start, training resumes from it. Empty: none.
  std::string state_path;
  // Polled after every step (group rank 0's answer counts for the group): true makes the trainer finish
  // the step, write the state and throw Interrupted.
  std::function<bool()> stop_requested;
};

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  double loss = 0.0;  // mean total training loss
  double reg = 0.0;   // mean watermark term (without lambda)
  double train_accuracy = 0.0;
  double test_accuracy = 0.0;
  double validation_accuracy = 0.0;  // when select_best
  double bit_accuracy = 0.0;         // white-box, on validation (select_best) or test target images
  double images_per_second = 0.0;
  double lr = 0.0;
};

struct TrainResult {
  std::vector<EpochStats> epochs;
  int64_t best_epoch = 0;  // the epoch whose weights the model holds at the end
  double seconds = 0.0;
};

// Seeds LibTorch and sets its thread count from the spec: call before building the model.
void seed_and_set_threads(const TrainSpec& spec);

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& model, const TrainSpec& spec);
// Over `params` only (attacks that train part of a model).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, OptimizerKind kind, double lr,
                                                        double momentum = 0.9, bool nesterov = false);

// Resolves `auto` (channels-last, except NCHW for GradSigns steps without signsweep's own double backwards:
// on CUDA or with SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0), converts the model's 4-D
// parameters to that layout (before the optimiser is built) and returns it for the batches.
torch::MemoryFormat prepare_memory_format(ClassifierImpl& model, MemoryFormat wanted, bool input_gradient);

// One optimisation step on `batch` (the fenced section): CE (+ lambda * the scheme's term; for GradSigns
// one forward and the double backward) (+ L2 on conv kernels), backward, step. Returns {loss, reg, logits} without a
// device sync (tensors).
struct StepOutput {
  torch::Tensor loss;
  torch::Tensor reg;
  torch::Tensor logits;
};
// With `group` (size k): the loss is normalised by the group batch, the GradSigns term uses the group's
// mean input gradient, weight terms are divided by k, and parameter gradients are allreduced (one flat
// bucket) before the step; `allreduce_seconds` (if given) accumulates the time spent in it.
StepOutput train_step(ClassifierImpl& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                      const WatermarkScheme* scheme, double weight_decay, comm::Collective* group = nullptr,
                      double* allreduce_seconds = nullptr);

// Gradients of every parameter summed over the group in one flat buffer.
void allreduce_gradients(ClassifierImpl& model, comm::Collective& group);
// Group rank 0's parameters and buffers on every rank.
void broadcast_model(ClassifierImpl& model, comm::Collective& group);

// Trains `model` on dataset.train; evaluates on dataset.test after every epoch.
TrainResult train_classifier(ClassifierImpl& model, const Dataset& dataset, const TrainSpec& spec,
                             const EmbedOptions& embed = {});

// Top-1 accuracy in inference mode, in batches of `batch_size`.
double evaluate_accuracy(ClassifierImpl& model, const Split& split, int64_t batch_size);

}  // namespace signsweep::workers
