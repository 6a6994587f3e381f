#include "workers/attacks/fine_tune.h"

#include <spdlog/spdlog.h>

#include "workers/data/sampling.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

// Freezes every parameter outside the head for the scope (requires_grad false), restoring on exit.
class FreezeAllButHead {
 public:
  FreezeAllButHead(ClassifierImpl& model, bool active) {
    if (!active) return;
    const auto head = model.head()->parameters();
    for (auto& p : model.parameters()) {
      const bool in_head = std::any_of(head.begin(), head.end(), [&](const torch::Tensor& h) { return h.is_same(p); });
      if (!in_head && p.requires_grad()) {
        p.requires_grad_(false);
        frozen_.push_back(p);
      }
    }
  }
  ~FreezeAllButHead() {
    for (auto& p : frozen_) p.requires_grad_(true);
  }
  FreezeAllButHead(const FreezeAllButHead&) = delete;
  FreezeAllButHead& operator=(const FreezeAllButHead&) = delete;

 private:
  std::vector<torch::Tensor> frozen_;
};

// One distillation step: T^2 * KL(teacher || student) at temperature T (Hinton et al.).
void distill_step(ClassifierImpl& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& teacher, double temperature) {
  optimizer.zero_grad();
  const torch::Tensor log_student = torch::log_softmax(model.forward(x) / temperature, 1);
  const torch::Tensor loss =
      torch::kl_div(log_student, teacher, at::Reduction::None).sum(1).mean() * (temperature * temperature);
  loss.backward();
  optimizer.step();
}

}  // namespace

FineTuneResult fine_tune(ClassifierImpl& model, const Split& train, const Split& validation, const FineTuneOptions& options) {
  const FreezeAllButHead freeze(model, options.last_layer_only);
  std::vector<torch::Tensor> params;
  for (auto& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  auto optimizer = make_optimizer(params, options.spec.optimizer, options.spec.lr);

  SamplerOptions sampler_options;
  sampler_options.batch_size = std::min(options.spec.batch_size, train.size());
  sampler_options.seed = options.seed;
  const std::optional<int64_t> target = options.scheme != nullptr ? options.scheme->batch_target_class() : std::nullopt;
  if (target) {
    sampler_options.target_class = target;
    sampler_options.target_per_batch = std::min(options.target_per_batch, sampler_options.batch_size / 2);
  }
  const std::vector<int64_t> labels = train.label_vector();
  BatchSampler sampler(labels, sampler_options);
  Batcher batcher(train, AugmentOptions{}, options.seed + 1, model.device());
  const int64_t steps = (train.size() + sampler_options.batch_size - 1) / sampler_options.batch_size;
  // lambda 0 (overwriting's no-op baseline): the same batches, target images included, without the term,
  // whose gradient would be 0 times a double backward.
  const WatermarkScheme* regularizer = options.scheme != nullptr && options.scheme->lambda() > 0.0 ? options.scheme : nullptr;

  FineTuneResult result;
  double best = -1.0;
  int64_t stale = 0;
  for (int64_t epoch = 1; epoch <= options.spec.epochs; ++epoch) {
    for (int64_t step = 0; step < steps; ++step) {
      model.train(!options.last_layer_only);
      const std::vector<int64_t> indices = sampler.next_batch();
      const Batch batch = batcher.gather(indices);
      if (options.soft_targets.defined()) {
        const torch::Tensor idx = torch::tensor(torch::ArrayRef<int64_t>(indices), torch::kInt64);
        distill_step(model, *optimizer, batch.x, options.soft_targets.index_select(0, idx).to(batch.x.device()),
                     options.temperature);
      } else {
        train_step(model, *optimizer, batch, regularizer, 0.0);
      }
      apply_masks_(options.masks);
      if (options.on_step) options.on_step();
    }
    result.epochs_run = epoch;
    result.validation_accuracy = evaluate_accuracy(model, validation, 1000);
    spdlog::info("fine-tune epoch {}/{}: validation accuracy {:.4f}", epoch, options.spec.epochs, result.validation_accuracy);
    if (result.validation_accuracy > best) {
      best = result.validation_accuracy;
      stale = 0;
    } else if (options.spec.patience > 0 && ++stale >= options.spec.patience) {
      spdlog::info("early stop: no better validation accuracy for {} epochs", options.spec.patience);
      break;
    }
  }
  return result;
}

}  // namespace signsweep::workers
