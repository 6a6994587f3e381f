#include "workers/train/trainer.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "comm/collective.h"
#include "common/progress.h"
#include "common/machine.h"
#include "workers/gradsigns/gradsigns.h"  // target_images
#include "workers/data/sampling.h"

namespace signsweep::workers {
namespace {

// Keras-style L2: weight_decay * sum(w^2) over every conv kernel (4-D parameter).
torch::Tensor conv_kernel_l2(ClassifierImpl& model, double weight_decay) {
  std::vector<torch::Tensor> squares;
  for (const auto& p : model.parameters())
    if (p.dim() == 4) squares.push_back(p.pow(2).sum());
  return torch::stack(squares).sum() * weight_decay;
}

// Validation images carved from the training split (reference: 50 target + 400 others), and the rest.
struct CarvedSplits {
  Split train;
  Split validation;
};

CarvedSplits carve_validation(const Split& train, const TrainSpec& spec, int64_t target_class) {
  const auto labels = train.label_vector();
  std::vector<int64_t> target, others;
  for (size_t i = 0; i < labels.size(); ++i) (labels[i] == target_class ? target : others).push_back(static_cast<int64_t>(i));
  if (static_cast<int64_t>(target.size()) <= spec.validation_target || static_cast<int64_t>(others.size()) <= spec.validation_others)
    throw DataError(fmt::format("training split too small to carve a validation split of {} target + {} other images",
                                spec.validation_target, spec.validation_others));
  std::mt19937_64 rng(spec.seed + 7);
  std::shuffle(target.begin(), target.end(), rng);
  std::shuffle(others.begin(), others.end(), rng);
  std::vector<int64_t> val(target.begin(), target.begin() + spec.validation_target);
  val.insert(val.end(), others.begin(), others.begin() + spec.validation_others);
  std::vector<int64_t> rest(target.begin() + spec.validation_target, target.end());
  rest.insert(rest.end(), others.begin() + spec.validation_others, others.end());
  std::sort(rest.begin(), rest.end());
  const auto take = [&](const std::vector<int64_t>& idx) {
    const torch::Tensor t = torch::tensor(torch::ArrayRef<int64_t>(idx), torch::kInt64);
    return Split{train.images.index_select(0, t), train.labels.index_select(0, t)};
  };
  return {take(rest), take(val)};
}

// Calls f(logits, labels) for consecutive batches of `split`, in inference mode.
void for_each_eval_batch(ClassifierImpl& model, const Split& split, int64_t batch_size,
                         const std::function<void(const torch::Tensor&, const torch::Tensor&)>& f) {
  const torch::NoGradGuard no_grad;
  model.eval();
  const torch::Device device = model.device();
  for (int64_t start = 0; start < split.size(); start += batch_size) {
    const int64_t n = std::min(batch_size, split.size() - start);
    f(model.forward(split.images.narrow(0, start, n).to(device)), split.labels.narrow(0, start, n).to(device));
  }
}

double mean_loss(ClassifierImpl& model, const Split& split, int64_t batch_size) {
  double sum = 0.0;
  for_each_eval_batch(model, split, batch_size, [&](const torch::Tensor& logits, const torch::Tensor& labels) {
    sum += torch::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum).item<double>();
  });
  return sum / static_cast<double>(split.size());
}

std::vector<torch::Tensor> snapshot(ClassifierImpl& model) {
  const torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> state;
  for (const auto& p : model.parameters()) state.push_back(p.detach().clone());
  for (const auto& b : model.buffers()) state.push_back(b.detach().clone());
  return state;
}

void restore(ClassifierImpl& model, const std::vector<torch::Tensor>& state) {
  const torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : model.parameters()) p.copy_(state[i++]);
  for (auto& b : model.buffers()) b.copy_(state[i++]);
}

}  // namespace

void seed_and_set_threads(const TrainSpec& spec) {
  const int threads = spec.threads > 0 ? spec.threads : common::usable_cores();
  torch::set_num_threads(threads);  // defaults to 1 on these VMs (toolchain.md)
  torch::manual_seed(spec.seed);
}

torch::MemoryFormat prepare_memory_format(ClassifierImpl& model, MemoryFormat wanted, bool input_gradient) {
  const bool channels_last = wanted == MemoryFormat::kChannelsLast || (wanted == MemoryFormat::kAuto && !input_gradient);
  const torch::MemoryFormat format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  return format;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params, OptimizerKind kind, double lr,
                                                        double momentum, bool nesterov) {
  if (kind == OptimizerKind::kSgd)
    return std::make_unique<torch::optim::SGD>(std::move(params),
                                               torch::optim::SGDOptions(lr).momentum(momentum).nesterov(nesterov));
  // Keras Adam: epsilon 1e-7 (PyTorch's default is 1e-8).
  return std::make_unique<torch::optim::Adam>(std::move(params), torch::optim::AdamOptions(lr).eps(1e-7));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& model, const TrainSpec& spec) {
  return make_optimizer(model.parameters(), spec.optimizer, spec.lr, spec.momentum, spec.nesterov);
}

void allreduce_gradients(ClassifierImpl& model, comm::Collective& group) {
  std::vector<torch::Tensor> grads;
  for (auto& p : model.parameters())
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return;
  std::vector<torch::Tensor> flat;
  for (const auto& g : grads) flat.push_back(g.reshape({-1}));
  torch::Tensor bucket = torch::cat(flat).to(torch::kCPU, torch::kFloat32).contiguous();
  group.allreduce_sum(bucket.data_ptr<float>(), bucket.numel());
  int64_t offset = 0;
  for (auto& g : grads) {
    g.copy_(bucket.narrow(0, offset, g.numel()).view_as(g));
    offset += g.numel();
  }
}

void broadcast_model(ClassifierImpl& model, comm::Collective& group) {
  const torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors = model.parameters();
  for (auto& b : model.buffers())
    if (b.is_floating_point()) tensors.push_back(b);
  for (auto& t : tensors) {
    torch::Tensor cpu = t.to(torch::kCPU, torch::kFloat32).contiguous();
    group.broadcast(cpu.data_ptr<float>(), cpu.numel(), 0);
    t.copy_(cpu.view_as(t));
  }
}

StepOutput train_step(ClassifierImpl& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                      const WatermarkScheme* scheme, double weight_decay, comm::Collective* group,
                      double* allreduce_seconds) {
  optimizer.zero_grad();
  const int ranks = group != nullptr ? group->size() : 1;
  const double group_batch = static_cast<double>(batch.y.size(0)) * ranks;  // every rank has the same batch size
  StepOutput out;
  if (scheme != nullptr) {
    const torch::Tensor x = scheme->needs_input_gradient() ? batch.x.detach().requires_grad_(true) : batch.x;
    out.logits = model.forward(x);
    const torch::Tensor ce_sum = torch::cross_entropy_loss(out.logits, batch.y, {}, at::Reduction::Sum);
    torch::Tensor term;
    if (group != nullptr) {
      WatermarkScheme::GroupTerm t = scheme->group_training_term(model, x, batch.y, ce_sum, *group);
      out.reg = t.value;
      term = t.loss_part;
    } else {
      out.reg = term = scheme->training_term(model, x, batch.y, ce_sum);
    }
    out.loss = ce_sum / group_batch + scheme->lambda() * term;
  } else {
    out.logits = model.forward(batch.x);
    out.loss = torch::cross_entropy_loss(out.logits, batch.y, {}, at::Reduction::Sum) / group_batch;
    out.reg = torch::zeros({}, out.loss.options());
  }
  if (weight_decay > 0.0) out.loss = out.loss + conv_kernel_l2(model, weight_decay / ranks);
  out.loss.backward();
  if (ranks > 1) {
    const auto start = std::chrono::steady_clock::now();
    allreduce_gradients(model, *group);
    if (allreduce_seconds != nullptr)
      *allreduce_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.loss = out.loss * static_cast<double>(ranks);  // reported per rank on the scale of a local mean
  }
  optimizer.step();
  out.loss = out.loss.detach();
  out.reg = out.reg.detach();
  out.logits = out.logits.detach();
  return out;
}

double evaluate_accuracy(ClassifierImpl& model, const Split& split, int64_t batch_size) {
  int64_t correct = 0;
  for_each_eval_batch(model, split, batch_size, [&](const torch::Tensor& logits, const torch::Tensor& labels) {
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  });
  return split.size() > 0 ? static_cast<double>(correct) / static_cast<double>(split.size()) : 0.0;
}

TrainResult train_classifier(ClassifierImpl& model, const Dataset& dataset, const TrainSpec& spec,
                             const EmbedOptions& embed) {
  const auto start = std::chrono::steady_clock::now();
  const WatermarkScheme* scheme = embed.scheme;
  const std::optional<int64_t> batch_target = scheme != nullptr ? scheme->batch_target_class() : std::nullopt;
  const int64_t target_class = batch_target.value_or(0);
  const CarvedSplits carved = spec.select_best ? carve_validation(dataset.train, spec, target_class)
                                               : CarvedSplits{dataset.train, Split{}};
  const Split& train = carved.train;
  comm::Collective* group = embed.group != nullptr && embed.group->size() > 1 ? embed.group : nullptr;
  // In a group, batch_size is the global batch: every rank draws the same global batches (same seeds) and
  // trains on its share (the target images shared too), so k ranks train the recipe of one process.
  const std::vector<size_t> share =
      group != nullptr ? share_positions(spec.batch_size, batch_target ? embed.target_per_batch : 0, group->rank(), group->size())
                       : std::vector<size_t>{};
  if (group != nullptr) broadcast_model(model, *group);  // one starting point for the whole group
  const torch::MemoryFormat format = prepare_memory_format(model, spec.memory_format, scheme != nullptr && scheme->needs_input_gradient());
  auto optimizer = make_optimizer(model, spec);

  SamplerOptions sampler_options;
  sampler_options.batch_size = spec.batch_size;
  sampler_options.seed = spec.seed;
  if (batch_target) {
    sampler_options.target_class = batch_target;
    sampler_options.target_per_batch = embed.target_per_batch;
  }
  BatchSampler sampler(train.label_vector(), sampler_options);
  const torch::Device device = model.device();
  Batcher batcher(train, dataset.augment, spec.seed + 1, device);
  const int64_t steps = spec.steps_per_epoch > 0 ? spec.steps_per_epoch : sampler.batches_per_epoch();
  // Bit accuracy for selection and the epoch line: validation target images, else test target images.
  const torch::Tensor bit_pool = !batch_target ? torch::Tensor()
                                 : spec.select_best ? target_images(carved.validation, target_class, spec.validation_target, 0)
                                                    : target_images(dataset.test, target_class, 50, 0);

  TrainResult result;
  double plateau_factor = 1.0, best_monitored = INFINITY, best_score = -INFINITY;
  int64_t epochs_without_improvement = 0;
  std::vector<torch::Tensor> best_state;
  for (int64_t epoch = 1; epoch <= spec.epochs; ++epoch) {
    const double lr = std::max(scheduled_lr(spec, epoch) * plateau_factor, std::min(spec.min_lr, spec.lr));
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    common::Progress progress(fmt::format("epoch {}/{}", epoch, spec.epochs), steps);
    model.train();
    const auto on_device = torch::TensorOptions().device(device);
    torch::Tensor loss_sum = torch::zeros({}, on_device), reg_sum = torch::zeros({}, on_device);
    torch::Tensor correct = torch::zeros({}, on_device.dtype(torch::kInt64));
    int64_t seen = 0;
    StepProgress report;  // carries every step's duration until the next report
    for (int64_t step = 0; step < steps; ++step) {
      const auto step_start = std::chrono::steady_clock::now();
      double allreduce_seconds = 0.0;
      // ---- TRAINING SECTION BEGIN ----
      Batch batch = group != nullptr ? batcher.gather_share(sampler.next_batch(), share) : batcher.gather(sampler.next_batch());
      if (format != torch::MemoryFormat::Contiguous) batch.x = batch.x.contiguous(format);
      const StepOutput out = train_step(model, *optimizer, batch, scheme, spec.weight_decay, group, &allreduce_seconds);
      // ---- TRAINING SECTION END ----
      report.step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count());
      if (group != nullptr) report.allreduce_seconds.push_back(allreduce_seconds);
      loss_sum += out.loss;  // stays on the device: no sync per step
      reg_sum += out.reg;
      correct += out.logits.argmax(1).eq(batch.y).sum();
      seen += batch.y.size(0);
      if (progress.wants_update(step + 1)) {
        const double mean = loss_sum.item<double>() / static_cast<double>(step + 1);
        // In a group a rank must not leave alone (the others would wait in the allreduce): divergence is
        // then detected at the end of the epoch, where every rank sees it (NaN gradients are summed).
        if (!std::isfinite(mean) && group == nullptr)
          throw Error(fmt::format("training diverged: loss is {} at epoch {} step {}", mean, epoch, step + 1));
        const double images_per_second = static_cast<double>(seen) / progress.elapsed_seconds();
        progress.update(step + 1, fmt::format("loss {:.4f} | {:.0f} img/s", mean, images_per_second));
        if (embed.on_progress) {
          report.epoch = epoch;
          report.step = step + 1;
          report.steps = steps;
          report.loss = mean;
          report.images_per_second = images_per_second;
          embed.on_progress(report);
          report.step_seconds.clear();
          report.allreduce_seconds.clear();
        }
      }
    }
    EpochStats stats;
    stats.epoch = epoch;
    stats.lr = lr;
    stats.loss = loss_sum.item<double>() / static_cast<double>(steps);
    if (!std::isfinite(stats.loss)) throw Error(fmt::format("training diverged: loss is {} in epoch {}", stats.loss, epoch));
    stats.reg = reg_sum.item<double>() / static_cast<double>(steps);
    stats.train_accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen);
    stats.images_per_second = static_cast<double>(seen) / progress.elapsed_seconds();
    // ---- after the fence: evaluation, selection, plateau ----
    stats.test_accuracy = evaluate_accuracy(model, dataset.test, spec.eval_batch_size);
    if (scheme != nullptr) stats.bit_accuracy = 1.0 - scheme->read_white_box(model, bit_pool, bit_pool.defined() ? bit_pool.size(0) : 0, 1, 0).ber;
    double monitored = stats.loss;
    double score = 0.0;
    if (spec.select_best) {
      stats.validation_accuracy = evaluate_accuracy(model, carved.validation, spec.eval_batch_size);
      score = stats.validation_accuracy + (scheme != nullptr ? 0.5 * stats.bit_accuracy : 0.0);
      monitored = mean_loss(model, carved.validation, spec.eval_batch_size);
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double over_limit = embed.time_limit_s > 0.0 && elapsed > embed.time_limit_s ? 1.0 : 0.0;
    if (group != nullptr) {  // BatchNorm statistics differ per rank: decisions follow group rank 0
      double decision[3] = {score, monitored, over_limit};
      group->broadcast(decision, 3, 0);
      score = decision[0];
      monitored = decision[1];
      over_limit = decision[2];
    }
    if (over_limit > 0.0)
      throw Error(fmt::format("trial time limit of {:g} s exceeded ({:.1f} s after epoch {} of {})", embed.time_limit_s,
                              elapsed, epoch, spec.epochs));
    if (spec.select_best) {
      if (score > best_score) {
        best_score = score;
        best_state = snapshot(model);
        result.best_epoch = epoch;
      }
    }
    if (spec.plateau_patience > 0) {
      if (monitored < best_monitored) {
        best_monitored = monitored;
        epochs_without_improvement = 0;
      } else if (++epochs_without_improvement >= spec.plateau_patience) {
        plateau_factor *= spec.plateau_factor;
        epochs_without_improvement = 0;
      }
    }
    progress.finish(fmt::format("loss {:.4f}{} train acc {:.4f} test acc {:.4f}{} | lr {:.2g} | {:.0f} img/s", stats.loss,
                                scheme != nullptr ? fmt::format(" (wm {:.4f})", stats.reg) : "", stats.train_accuracy,
                                stats.test_accuracy, scheme != nullptr ? fmt::format(" bit acc {:.4f}", stats.bit_accuracy) : "",
                                lr, stats.images_per_second));
    result.epochs.push_back(stats);
    if (embed.on_progress) {  // the epoch's end: its accuracies, and the steps not reported yet
      report.epoch = epoch;
      report.step = report.steps = steps;
      report.loss = stats.loss;
      report.images_per_second = stats.images_per_second;
      report.train_accuracy = stats.train_accuracy;
      report.bit_accuracy = stats.bit_accuracy;
      embed.on_progress(report);
    }
  }
  if (spec.select_best && result.best_epoch != spec.epochs) {
    restore(model, best_state);
    spdlog::info("model selection: keeping epoch {} (best accuracy + 0.5 * bit accuracy on validation)", result.best_epoch);
  }
  if (!spec.select_best) result.best_epoch = spec.epochs;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace signsweep::workers
