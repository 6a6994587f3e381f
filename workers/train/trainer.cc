#include "workers/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "comm/collective.h"
#include "common/progress.h"
#include "common/machine.h"
#include "storage/sealed_file.h"
#include "workers/gradsigns/gradsigns.h"  // target_images
#include "workers/data/sampling.h"
#include "workers/models/double_backward.h"
#include "workers/train/training_state.h"

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
  const int threads = spec.threads > 0 ? spec.threads : common::core_share();
  torch::set_num_threads(threads);  // defaults to 1 on these VMs (toolchain.md)
  // LibTorch takes the inter-op pool's size once, before its first use, and throws after: the first trial's
  // share is the process's (ranks sharing a node would otherwise each start one thread per core).
  static std::once_flag interop_once;
  std::call_once(interop_once, [threads] {
    try {
      torch::set_num_interop_threads(threads);
    } catch (const c10::Error&) {  // the pool was already started (e.g. by a test): it keeps its size
    }
  });
  torch::manual_seed(spec.seed);
}

torch::MemoryFormat prepare_memory_format(ClassifierImpl& model, MemoryFormat wanted, bool input_gradient) {
  // auto: channels-last, measured faster on the CPU for plain steps and, with signsweep's own double backwards
  // (models/double_backward.h), for GradSigns steps (4-18%, docs/benchmarks.md); LibTorch's double backward
  // (turned off, or on CUDA) was faster in NCHW. On CUDA with signsweep's (unmeasured yet) NCHW stays too.
  const bool own_double_backward = model.device().is_cpu() && own_double_backward_on(model.device());
  const bool channels_last = wanted == MemoryFormat::kChannelsLast ||
                             (wanted == MemoryFormat::kAuto && (!input_gradient || own_double_backward));
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

namespace {

// Every gradient undefined instead of zeroed (LibTorch 2.x's zero_grad() default; 1.13's writes zeros that
// backward then adds to): the first backward writes each gradient in place of a memset and an add.
void clear_gradients(ClassifierImpl& model) {
  for (torch::Tensor& p : model.parameters()) p.mutable_grad() = torch::Tensor();
}

// loss.backward(), accumulating into the trainable parameters only. With an input-gradient scheme the batch
// requires grad, and a plain backward() would also compute d loss / d x through the whole double-backward
// graph: work whose result nobody reads.
void backward_to_parameters(ClassifierImpl& model, const torch::Tensor& loss) {
  std::vector<torch::Tensor> trainable;
  for (const torch::Tensor& p : model.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::autograd::backward({loss}, /*grad_tensors=*/{}, /*retain_graph=*/{}, /*create_graph=*/false, trainable);
}

}  // namespace

StepOutput train_step(ClassifierImpl& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                      const WatermarkScheme* scheme, double weight_decay, comm::Collective* group,
                      double* allreduce_seconds) {
  clear_gradients(model);
  const int ranks = group != nullptr ? group->size() : 1;
  const double group_batch = static_cast<double>(batch.y.size(0)) * ranks;  // every rank has the same batch size
  StepOutput out;
  if (scheme != nullptr) {
    // A step that differentiates the input gradient takes BatchNorm's exact fused double backward.
    const DoubleBackwardScope fused_batch_norm(scheme->needs_input_gradient());
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
  backward_to_parameters(model, out.loss);
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

namespace {

// Everything one training run holds, built once (or resumed) and then advanced epoch by epoch.
struct Run {
  Run(ClassifierImpl& m, const Dataset& d, const TrainSpec& sp, const EmbedOptions& e);

  ClassifierImpl& model;
  const Dataset& dataset;
  const TrainSpec& spec;
  const EmbedOptions& embed;
  const WatermarkScheme* scheme;
  std::optional<int64_t> batch_target;
  int64_t target_class;
  CarvedSplits carved;
  comm::Collective* group;     // null: this process alone
  std::vector<size_t> share;   // a group rank's rows of every global batch
  torch::MemoryFormat format;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  BatchSampler sampler;
  Batcher batcher;
  int64_t steps;
  torch::Tensor bit_pool;  // target images for the bit accuracy of the epoch line and of selection
  TrainingState state;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_state = start;
  int64_t epochs_since_state = 0;

  bool leader() const { return group == nullptr || group->rank() == 0; }
};

SamplerOptions sampler_options(const TrainSpec& spec, std::optional<int64_t> batch_target, int64_t target_per_batch) {
  SamplerOptions o;
  o.batch_size = spec.batch_size;
  o.seed = spec.seed;
  if (batch_target) {
    o.target_class = batch_target;
    o.target_per_batch = target_per_batch;
  }
  return o;
}

// One starting point for the whole group (group rank 0's weights), in the memory format training uses.
torch::MemoryFormat start_model(ClassifierImpl& m, comm::Collective* group, MemoryFormat wanted, bool input_gradient) {
  if (group != nullptr) broadcast_model(m, *group);
  return prepare_memory_format(m, wanted, input_gradient);
}

Run::Run(ClassifierImpl& m, const Dataset& d, const TrainSpec& sp, const EmbedOptions& e)
    : model(m),
      dataset(d),
      spec(sp),
      embed(e),
      scheme(e.scheme),
      batch_target(e.scheme != nullptr ? e.scheme->batch_target_class() : std::nullopt),
      target_class(batch_target.value_or(0)),
      carved(sp.select_best ? carve_validation(d.train, sp, target_class) : CarvedSplits{d.train, Split{}}),
      group(e.group != nullptr && e.group->size() > 1 ? e.group : nullptr),
      // In a group, batch_size is the global batch: every rank draws the same global batches (same seeds)
      // and trains on its share (the target images shared too): k ranks train the recipe of one process.
      share(group != nullptr
                ? share_positions(sp.batch_size, batch_target ? e.target_per_batch : 0, group->rank(), group->size())
                : std::vector<size_t>{}),
      format(start_model(m, group, sp.memory_format, scheme != nullptr && scheme->needs_input_gradient())),
      optimizer(make_optimizer(m, sp)),
      sampler(carved.train.label_vector(), sampler_options(sp, batch_target, e.target_per_batch)),
      batcher(carved.train, d.augment, sp.seed + 1, m.device()),
      steps(sp.steps_per_epoch > 0 ? sp.steps_per_epoch : sampler.batches_per_epoch()),
      bit_pool(!batch_target      ? torch::Tensor()
               : sp.select_best ? target_images(carved.validation, target_class, sp.validation_target, 0)
                                : target_images(d.test, target_class, 50, 0)) {}

void start_epoch_accumulators(Run& r) {
  const auto on_device = torch::TensorOptions().device(r.model.device());
  r.state.loss_sum = torch::zeros({}, on_device);
  r.state.reg_sum = torch::zeros({}, on_device);
  r.state.correct = torch::zeros({}, on_device.dtype(torch::kInt64));
  r.state.seen = 0;
  r.state.step = 0;
}

double epoch_lr(const Run& r) {
  return std::max(scheduled_lr(r.spec, r.state.epoch) * r.state.plateau_factor, std::min(r.spec.min_lr, r.spec.lr));
}

// The group's leader writes the resumable state; every rank of the group calls this at the same point and
// learns whether it was written: a write that fails (WriteError: disk full, read-only) ends the trial on every
// rank, instead of leaving the others waiting in the next step's allreduce.
void save_state(Run& r) {
  if (r.embed.state_path.empty()) return;
  double written = 1.0;
  std::string failure;
  if (r.leader()) {
    try {
      save_training_state(r.embed.state_path, r.state, r.model, *r.optimizer, r.sampler, r.batcher);
      r.last_state = std::chrono::steady_clock::now();
      r.epochs_since_state = 0;
    } catch (const WriteError& e) {
      if (r.group == nullptr) throw;
      written = 0.0;
      failure = e.what();
    }
  }
  if (r.group != nullptr) r.group->broadcast(&written, 1, 0);
  if (written > 0.0) return;
  throw WriteError(r.leader() ? failure : "the group's leader could not write the trial's resumable state (its log says why)");
}


// After every step: whether the run was asked to stop (group rank 0's answer counts for the whole group).
bool stop_agreed(const Run& r) {
  double stop = r.embed.stop_requested && r.embed.stop_requested() ? 1.0 : 0.0;
  if (r.group != nullptr && r.embed.stop_requested) r.group->broadcast(&stop, 1, 0);
  return stop > 0.0;
}

void report_steps(const Run& r, StepProgress& report, double images_per_second, double loss) {
  report.epoch = r.state.epoch;
  report.step = r.state.step;
  report.steps = r.steps;
  report.loss = loss;
  report.images_per_second = images_per_second;
  r.embed.on_progress(report);
  report.step_seconds.clear();
  report.allreduce_seconds.clear();
  report.images = 0;
}

// The epoch's steps from where the state stands; a stop request ends them after the step in progress,
// with the state saved.
void run_steps(Run& r, common::Progress& progress, StepProgress& report) {
  TrainingState& st = r.state;
  while (st.step < r.steps) {
    const auto step_start = std::chrono::steady_clock::now();
    double allreduce_seconds = 0.0;
    // ---- TRAINING SECTION BEGIN ----
    Batch batch = r.group != nullptr ? r.batcher.gather_share(r.sampler.next_batch(), r.share)
                                     : r.batcher.gather(r.sampler.next_batch());
    if (r.format != torch::MemoryFormat::Contiguous) batch.x = batch.x.contiguous(r.format);
    const StepOutput out = train_step(r.model, *r.optimizer, batch, r.scheme, r.spec.weight_decay, r.group, &allreduce_seconds);
    // ---- TRAINING SECTION END ----
    report.step_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count());
    if (r.group != nullptr) report.allreduce_seconds.push_back(allreduce_seconds);
    report.images += batch.y.size(0) * (r.group != nullptr ? r.group->size() : 1);  // a share per rank
    st.loss_sum += out.loss;  // stays on the device: no sync per step
    st.reg_sum += out.reg;
    st.correct += out.logits.argmax(1).eq(batch.y).sum();
    st.seen += batch.y.size(0);
    ++st.step;
    if (progress.wants_update(st.step)) {
      const double mean = st.loss_sum.item<double>() / static_cast<double>(st.step);
      // In a group a rank must not leave alone (the others would wait in the allreduce): divergence is
      // then detected at the end of the epoch, where every rank sees it (NaN gradients are summed).
      if (!std::isfinite(mean) && r.group == nullptr)
        throw Error(fmt::format("training diverged: loss is {} at epoch {} step {}", mean, st.epoch, st.step));
      const double images_per_second = static_cast<double>(st.seen) / progress.elapsed_seconds();
      progress.update(st.step, fmt::format("loss {:.4f} | {:.0f} img/s", mean, images_per_second));
      if (r.embed.on_progress) report_steps(r, report, images_per_second, mean);
    }
    if (stop_agreed(r)) {
      save_state(r);
      throw Interrupted(fmt::format("interrupted after step {} of epoch {}{}", st.step, st.epoch,
                                    r.embed.state_path.empty() ? "" : " (resumable state saved)"));
    }
  }
}

EpochStats epoch_figures(const Run& r, double lr, const common::Progress& progress) {
  const TrainingState& st = r.state;
  EpochStats stats;
  stats.epoch = st.epoch;
  stats.lr = lr;
  stats.loss = st.loss_sum.item<double>() / static_cast<double>(r.steps);
  if (!std::isfinite(stats.loss)) throw Error(fmt::format("training diverged: loss is {} in epoch {}", stats.loss, st.epoch));
  stats.reg = st.reg_sum.item<double>() / static_cast<double>(r.steps);
  stats.train_accuracy = static_cast<double>(st.correct.item<int64_t>()) / static_cast<double>(st.seen);
  stats.images_per_second = static_cast<double>(st.seen) / progress.elapsed_seconds();
  return stats;
}

void evaluate_epoch(Run& r, EpochStats& stats) {
  stats.test_accuracy = evaluate_accuracy(r.model, r.dataset.test, r.spec.eval_batch_size);
  if (r.scheme != nullptr)
    stats.bit_accuracy =
        1.0 - r.scheme->read_white_box(r.model, r.bit_pool, r.bit_pool.defined() ? r.bit_pool.size(0) : 0, 1, 0).ber;
  if (r.spec.select_best) stats.validation_accuracy = evaluate_accuracy(r.model, r.carved.validation, r.spec.eval_batch_size);
}

// What the epoch's end decides on, as group rank 0 sees it (BatchNorm statistics differ per rank).
struct Decision {
  double score = 0.0;      // model selection: accuracy + 0.5 x bit accuracy on validation
  double monitored = 0.0;  // the plateau rule's loss
  bool over_time = false;
};

Decision decide(Run& r, const EpochStats& stats) {
  Decision d;
  d.monitored = stats.loss;
  if (r.spec.select_best) {
    d.score = stats.validation_accuracy + (r.scheme != nullptr ? 0.5 * stats.bit_accuracy : 0.0);
    d.monitored = mean_loss(r.model, r.carved.validation, r.spec.eval_batch_size);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  double values[3] = {d.score, d.monitored, r.embed.time_limit_s > 0.0 && elapsed > r.embed.time_limit_s ? 1.0 : 0.0};
  if (r.group != nullptr) r.group->broadcast(values, 3, 0);
  d = {values[0], values[1], values[2] > 0.0};
  if (d.over_time)
    throw Error(fmt::format("trial time limit of {:g} s exceeded ({:.1f} s after epoch {} of {})", r.embed.time_limit_s,
                            elapsed, r.state.epoch, r.spec.epochs));
  return d;
}

void select_and_adapt(Run& r, const Decision& d) {
  TrainingState& st = r.state;
  if (r.spec.select_best && d.score > st.best_score) {
    st.best_score = d.score;
    st.best_state = snapshot(r.model);
    st.best_epoch = st.epoch;
  }
  if (r.spec.plateau_patience == 0) return;
  if (d.monitored < st.best_monitored) {
    st.best_monitored = d.monitored;
    st.epochs_without_improvement = 0;
  } else if (++st.epochs_without_improvement >= r.spec.plateau_patience) {
    st.plateau_factor *= r.spec.plateau_factor;
    st.epochs_without_improvement = 0;
  }
}

bool state_due(const Run& r) {
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.last_state).count() / 60.0;
  return (r.spec.state_every_epochs > 0 && r.epochs_since_state >= r.spec.state_every_epochs) ||
         (r.spec.state_every_minutes > 0.0 && minutes >= r.spec.state_every_minutes);
}

// Whether the resumable state is due at this epoch end: the leader's clock decides for the whole group.
bool state_due_agreed(const Run& r) {
  double due = state_due(r) ? 1.0 : 0.0;
  if (r.group != nullptr && !r.embed.state_path.empty()) r.group->broadcast(&due, 1, 0);
  return due > 0.0;
}

void log_epoch(const Run& r, common::Progress& progress, const EpochStats& stats) {
  progress.finish(fmt::format("loss {:.4f}{} train acc {:.4f} test acc {:.4f}{} | lr {:.2g} | {:.0f} img/s", stats.loss,
                              r.scheme != nullptr ? fmt::format(" (wm {:.4f})", stats.reg) : "", stats.train_accuracy,
                              stats.test_accuracy, r.scheme != nullptr ? fmt::format(" bit acc {:.4f}", stats.bit_accuracy) : "",
                              stats.lr, stats.images_per_second));
}

}  // namespace

TrainResult train_classifier(ClassifierImpl& model, const Dataset& dataset, const TrainSpec& spec,
                             const EmbedOptions& embed) {
  Run r(model, dataset, spec, embed);
  TrainingState& st = r.state;
  start_epoch_accumulators(r);
  if (!embed.state_path.empty() && std::filesystem::exists(embed.state_path)) {
    try {
      st = load_training_state(embed.state_path, model, *r.optimizer, r.sampler, r.batcher);
      spdlog::info("resuming from {}: epoch {} of {}, step {} of {}", embed.state_path, st.epoch, spec.epochs, st.step, r.steps);
    } catch (const storage::CorruptFile& e) {  // checked before anything was read: the trial is as new
      spdlog::warn("{}; the trial starts again from its first epoch", e.what());
    }
  }
  for (; st.epoch <= spec.epochs; ++st.epoch) {
    const double lr = epoch_lr(r);
    for (auto& g : r.optimizer->param_groups()) g.options().set_lr(lr);
    common::Progress progress(fmt::format("epoch {}/{}", st.epoch, spec.epochs), r.steps);
    model.train();
    StepProgress report;  // carries every step's duration until the next report
    run_steps(r, progress, report);
    // ---- the epoch's end ----
    EpochStats stats = epoch_figures(r, lr, progress);
    evaluate_epoch(r, stats);
    select_and_adapt(r, decide(r, stats));
    log_epoch(r, progress, stats);
    st.epochs.push_back(stats);
    if (embed.on_progress) {  // the epoch's accuracies, and the steps not reported yet
      report.train_accuracy = stats.train_accuracy;
      report.bit_accuracy = stats.bit_accuracy;
      report_steps(r, report, stats.images_per_second, stats.loss);
    }
    start_epoch_accumulators(r);
    ++r.epochs_since_state;
    if (st.epoch < spec.epochs && state_due_agreed(r)) {  // saved as the start of the next epoch
      ++st.epoch;
      save_state(r);
      --st.epoch;
    }
  }
  TrainResult result;
  result.epochs = st.epochs;
  result.best_epoch = spec.select_best ? st.best_epoch : spec.epochs;
  if (spec.select_best && st.best_epoch != spec.epochs) {
    restore(model, st.best_state);
    spdlog::info("model selection: keeping epoch {} (best accuracy + 0.5 * bit accuracy on validation)", st.best_epoch);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
  return result;
}

}  // namespace signsweep::workers
