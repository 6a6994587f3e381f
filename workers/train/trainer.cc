#include "workers/train/trainer.h"

#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "common/progress.h"
#include "workers/data/sampling.h"

namespace signsweep::workers {
namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& model, const TrainSpec& spec) {
  if (spec.optimizer == OptimizerKind::kSgd)
    return std::make_unique<torch::optim::SGD>(
        model.parameters(), torch::optim::SGDOptions(spec.lr).momentum(spec.momentum).nesterov(spec.nesterov));
  return std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(spec.lr));
}

// Keras-style L2: weight_decay * sum(w^2) over every conv kernel (4-D parameter).
torch::Tensor conv_kernel_l2(ClassifierImpl& model, double weight_decay) {
  torch::Tensor sum = torch::zeros({});
  for (const auto& p : model.parameters())
    if (p.dim() == 4) sum = sum + p.pow(2).sum();
  return sum * weight_decay;
}

}  // namespace

void seed_and_set_threads(const TrainSpec& spec) {
  const int threads = spec.threads > 0 ? spec.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);  // defaults to 1 on these VMs (toolchain.md)
  torch::manual_seed(spec.seed);
}

double evaluate_accuracy(ClassifierImpl& model, const Split& split, int64_t batch_size) {
  const torch::NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < split.size(); start += batch_size) {
    const int64_t n = std::min(batch_size, split.size() - start);
    const torch::Tensor logits = model.forward(split.images.narrow(0, start, n));
    correct += logits.argmax(1).eq(split.labels.narrow(0, start, n)).sum().item<int64_t>();
  }
  return split.size() > 0 ? static_cast<double>(correct) / static_cast<double>(split.size()) : 0.0;
}

TrainResult train_classifier(ClassifierImpl& model, const Dataset& dataset, const TrainSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  auto optimizer = make_optimizer(model, spec);
  SamplerOptions sampler_options;
  sampler_options.batch_size = spec.batch_size;
  sampler_options.seed = spec.seed;
  BatchSampler sampler(dataset.train.label_vector(), sampler_options);
  Batcher batcher(dataset.train, dataset.augment, spec.seed + 1);
  const int64_t steps = spec.steps_per_epoch > 0 ? spec.steps_per_epoch : sampler.batches_per_epoch();

  TrainResult result;
  for (int64_t epoch = 1; epoch <= spec.epochs; ++epoch) {
    common::Progress progress(fmt::format("epoch {}/{}", epoch, spec.epochs), steps);
    model.train();
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    for (int64_t step = 0; step < steps; ++step) {
      // ---- TRAINING SECTION BEGIN ----
      const Batch batch = batcher.gather(sampler.next_batch());
      optimizer->zero_grad();
      const torch::Tensor logits = model.forward(batch.x);
      torch::Tensor loss = torch::cross_entropy_loss(logits, batch.y);
      if (spec.weight_decay > 0.0) loss = loss + conv_kernel_l2(model, spec.weight_decay);
      loss.backward();
      optimizer->step();
      // ---- TRAINING SECTION END ----
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw Error(fmt::format("training diverged: loss is {} at epoch {} step {}", loss_value, epoch, step + 1));
      loss_sum += loss_value;
      correct += logits.argmax(1).eq(batch.y).sum().item<int64_t>();
      seen += batch.y.size(0);
      progress.update(step + 1, fmt::format("loss {:.4f} | {:.0f} img/s", loss_sum / static_cast<double>(step + 1),
                                            static_cast<double>(seen) / progress.elapsed_seconds()));
    }
    EpochStats stats;
    stats.epoch = epoch;
    stats.loss = loss_sum / static_cast<double>(steps);
    stats.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    stats.images_per_second = static_cast<double>(seen) / progress.elapsed_seconds();
    stats.lr = spec.lr;
    stats.test_accuracy = evaluate_accuracy(model, dataset.test, spec.eval_batch_size);
    progress.finish(fmt::format("loss {:.4f} train acc {:.4f} test acc {:.4f} | {:.0f} img/s", stats.loss,
                                stats.train_accuracy, stats.test_accuracy, stats.images_per_second));
    result.epochs.push_back(stats);
  }
  result.test_accuracy = result.epochs.back().test_accuracy;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace signsweep::workers
