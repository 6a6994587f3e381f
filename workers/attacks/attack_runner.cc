// run_attack: one attack on one watermarked checkpoint, with the owner's watermark read before and after.
// Each attack kind is one small function below; they share the attacker data split, the fine-tuning loop
// (fine_tune.h) and the verifier (evaluation/evaluation.h).
#include "workers/attacks/attack_runner.h"

#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "common/secret.h"
#include "workers/attacks/attack_spec.h"
#include "workers/attacks/basic_attacks.h"
#include "workers/attacks/fine_tune.h"
#include "workers/data/sampling.h"
#include "workers/evaluation/evaluation.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/train/trainer.h"
#include "workers/watermarks/scheme_factory.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kEvalBatch = 1000;

Split take(const Split& split, const std::vector<int64_t>& indices) {
  const torch::Tensor idx = torch::tensor(torch::ArrayRef<int64_t>(indices), torch::kInt64);
  return Split{split.images.index_select(0, idx), split.labels.index_select(0, idx)};
}

struct AttackerSplits {
  Split fine_tune;
  Split validation;
};

// images_per_class of every class from the training set, then split per class (70/30 by default).
AttackerSplits attacker_splits(const Dataset& ds, const AttackSpec& spec) {
  IndexSplit chosen;
  try {
    chosen = split_per_class(ds.train.label_vector(), ds.num_classes, spec.data.images_per_class, spec.seed);
  } catch (const DataError& e) {
    throw ConfigError(fmt::format("attack {}: images_per_class = {} is more than the training set holds: {}",
                                  to_string(spec.kind), spec.data.images_per_class, e.what()));
  }
  const Split attacker = take(ds.train, chosen.selected);
  const IndexSplit parts =
      split_fraction_per_class(attacker.label_vector(), ds.num_classes, spec.data.fine_tune_fraction, spec.seed + 1);
  return {take(attacker, parts.selected), take(attacker, parts.rest)};
}

FineTuneOptions fine_tune_options(const AttackSpec& spec, const std::function<void()>& on_step) {
  FineTuneOptions o;
  o.spec = spec.fine_tune;
  o.seed = spec.seed;
  o.on_step = on_step;
  return o;
}

torch::Tensor predictions(ClassifierImpl& model, const torch::Tensor& images) {
  const torch::NoGradGuard no_grad;
  model.eval();
  std::vector<torch::Tensor> out;
  const torch::Device device = model.device();
  for (int64_t s = 0; s < images.size(0); s += kEvalBatch)
    out.push_back(model.forward(images.narrow(0, s, std::min(kEvalBatch, images.size(0) - s)).to(device)).to(images.device()));
  return torch::cat(out);
}

double api_accuracy(ClassifierImpl& model, const Split& test, const ApiHooks& hooks) {
  PredictionApi api(model);
  api.transform_input = hooks.transform_input;
  api.postprocess = hooks.postprocess;
  int64_t correct = 0;
  for (int64_t s = 0; s < test.size(); s += kEvalBatch) {
    const int64_t n = std::min(kEvalBatch, test.size() - s);
    correct += api.probabilities(test.images.narrow(0, s, n)).argmax(1).eq(test.labels.narrow(0, s, n)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

struct Context {
  const AttackSpec& spec;
  LoadedModel& loaded;
  const Dataset& ds;
  const WatermarkSpec& wm;  // the owner's verification settings (h possibly from the attack)
  AttackReport& report;
  const std::function<void()>& on_step;  // after every fine-tuning step
  ClassifierImpl& model() { return *loaded.model; }
  const WatermarkScheme& scheme() { return *loaded.scheme; }
};

void fine_tuning_attack(Context& c) {
  const AttackKind k = c.spec.kind;
  if (k == AttackKind::kRtll || k == AttackKind::kRtal) {
    const torch::NoGradGuard no_grad;
    c.model().head()->reset_parameters();
    c.report.figures["accuracy_after_reset"] = evaluate_accuracy(c.model(), c.ds.test, kEvalBatch);
  }
  const AttackerSplits data = attacker_splits(c.ds, c.spec);
  FineTuneOptions o = fine_tune_options(c.spec, c.on_step);
  o.last_layer_only = k == AttackKind::kFtll || k == AttackKind::kRtll;
  const FineTuneResult r = fine_tune(c.model(), data.fine_tune, data.validation, o);
  c.report.figures["epochs_run"] = static_cast<double>(r.epochs_run);
}

void pruning_attack(Context& c) {
  const PruneResult pruned = prune_by_magnitude_(c.model(), c.spec.rate, c.spec.kind == AttackKind::kPruneLayerwise);
  c.report.figures["pruned_weights"] = static_cast<double>(pruned.pruned);
  c.report.figures["kernel_weights"] = static_cast<double>(pruned.kernel_weights);
  c.report.figures["accuracy_after_pruning"] = evaluate_accuracy(c.model(), c.ds.test, kEvalBatch);
  const AttackerSplits data = attacker_splits(c.ds, c.spec);
  FineTuneOptions o = fine_tune_options(c.spec, c.on_step);
  o.masks = pruned.masks;
  const FineTuneResult r = fine_tune(c.model(), data.fine_tune, data.validation, o);
  c.report.figures["epochs_run"] = static_cast<double>(r.epochs_run);
  int64_t zeros = 0;
  for (const auto& m : pruned.masks) zeros += m.parameter.eq(0).sum().item<int64_t>();
  c.report.figures["zero_kernel_weights_after"] = static_cast<double>(zeros);
}

// Remote readings averaged over `trials` APIs made by `hooks_for(trial)`; accuracy from trial 0's API.
void api_attack(Context& c, int64_t trials, const std::function<ApiHooks(int64_t)>& hooks_for) {
  std::vector<RemoteReading> mean;
  double accuracy = 0.0;
  for (int64_t t = 0; t < trials; ++t) {
    const ApiHooks hooks = hooks_for(t);
    accuracy += api_accuracy(c.model(), c.ds.test, hooks);
    const std::vector<RemoteReading> r = read_remote(c.model(), c.scheme(), c.ds, c.wm, hooks);
    if (mean.empty()) mean = r;
    else
      for (size_t i = 0; i < r.size(); ++i) {
        mean[i].ber += r[i].ber;
        mean[i].queries += r[i].queries;
      }
  }
  for (auto& m : mean) m.ber /= static_cast<double>(trials);
  c.report.accuracy_after = accuracy / static_cast<double>(trials);
  c.report.after = c.report.before;
  c.report.after.white_box = false;  // the weights are the owner's: what the attack changes is read through the API
  c.report.after.remote = mean;
  c.report.figures["trials"] = static_cast<double>(trials);
}

// The overwriting attacker's target class: the one it was given, else one drawn with its own seed among the
// classes its pseudo-labelled fine-tuning data holds. It knows nothing of the owner's class, so a draw may hit
// it by chance (1 in K), as it would for a real attacker.
int64_t attacker_target_class(const AttackSpec& spec, const torch::Tensor& pseudo_labels, uint64_t attacker_seed) {
  const torch::Tensor present = std::get<0>(at::_unique(pseudo_labels.to(torch::kCPU)));
  if (spec.target_class) {
    if (!present.eq(*spec.target_class).any().item<bool>())
      throw ConfigError(fmt::format("attack overwrite: target_class = {}: the watermarked model labels none of the "
                                    "attacker's images with it, so no batch can carry it",
                                    *spec.target_class));
    return *spec.target_class;
  }
  std::mt19937_64 rng(common::keyed_seed(std::to_string(attacker_seed), "overwrite target class"));
  std::uniform_int_distribution<int64_t> pick(0, present.numel() - 1);
  return present[pick(rng)].item<int64_t>();
}

void overwriting_attack(Context& c) {
  AttackerSplits data = attacker_splits(c.ds, c.spec);
  for (Split* s : {&data.fine_tune, &data.validation}) s->labels = predictions(c.model(), s->images).argmax(1);
  // The attacker's own secrets: the seed it was given (a sweep derives one per trial from its store's secret),
  // else one drawn from the OS; never the owner's.
  const uint64_t attacker_seed = c.spec.watermark_seed_given ? c.spec.watermark_seed : common::random_seed();
  if (attacker_seed == c.scheme().record().seed)
    throw ConfigError(fmt::format("attack overwrite: watermark_seed = {} is the owner's: the attacker's secrets must differ",
                                  attacker_seed));
  WatermarkSpec theirs = c.loaded.config.watermark;
  if (c.spec.bits > 0) theirs.bits = c.spec.bits;
  if (c.spec.carriers > 0) theirs.carriers = c.spec.carriers;
  if (c.spec.lambda >= 0.0) theirs.lambda = c.spec.lambda;
  theirs.target_class = attacker_target_class(c.spec, data.fine_tune.labels, attacker_seed);
  theirs.seed = attacker_seed;
  theirs.seed_given = true;
  std::unique_ptr<WatermarkScheme> attacker;
  try {
    attacker = make_scheme(theirs, c.model(), c.ds.shape, c.ds.num_classes);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("attack overwrite: {}", e.what()));
  }
  FineTuneOptions o = fine_tune_options(c.spec, c.on_step);
  o.scheme = attacker.get();
  o.target_per_batch = theirs.target_per_batch;
  const FineTuneResult r = fine_tune(c.model(), data.fine_tune, data.validation, o);
  c.report.figures["epochs_run"] = static_cast<double>(r.epochs_run);
  const VerificationReport v = verify_model(c.model(), *attacker, c.ds, theirs, /*remote=*/false);
  c.report.figures["attacker_bits"] = static_cast<double>(v.bits);
  c.report.figures["attacker_ber_white_box"] = v.ber_white_box;
  c.report.figures["attacker_mean_repeat_ber"] = v.mean_repeat_ber_test;
  c.report.figures["attacker_p_value"] = v.p_value;
}

// Trains a surrogate on the watermarked model's soft labels; the report's "after" figures are the surrogate's.
Classifier distillation_attack(Context& c) {
  const AttackerSplits data = attacker_splits(c.ds, c.spec);
  const double t = c.spec.temperature;
  const torch::Tensor soft = torch::softmax(predictions(c.model(), data.fine_tune.images) / t, 1);
  torch::manual_seed(c.spec.seed);
  const ModelSpec surrogate_spec = c.spec.surrogate.value_or(c.loaded.config.model);
  Classifier surrogate = build_model(surrogate_spec, c.ds.shape, c.ds.num_classes);
  surrogate->to(c.model().device());
  FineTuneOptions o = fine_tune_options(c.spec, c.on_step);
  o.soft_targets = soft;
  o.temperature = t;
  const FineTuneResult r = fine_tune(*surrogate, data.fine_tune, data.validation, o);
  c.report.figures["epochs_run"] = static_cast<double>(r.epochs_run);
  c.report.figures["surrogate_parameters"] = static_cast<double>(count_parameters(*surrogate));
  return surrogate;
}

std::string figure_lines(const VerificationReport& v, const char* suffix) {
  std::string s = v.white_box ? fmt::format("ber_white_box_{} {:.6f}\np_value_{} {:.6g}\nverdict_{} {}\n", suffix,
                                            v.ber_white_box, suffix, v.p_value, suffix, v.owned ? "owned" : "not-owned")
                              : std::string();
  for (const auto& r : v.remote) s += fmt::format("ber_remote_{} h={:g} {:.6f}\n", suffix, r.h, r.ber);
  return s;
}

}  // namespace

std::string AttackReport::text() const {
  std::string s = fmt::format("attack {}\naccuracy_before {:.6f}\naccuracy_after {:.6f}\n", attack, accuracy_before, accuracy_after);
  s += figure_lines(before, "before") + figure_lines(after, "after");
  for (const auto& [k, v] : figures) s += fmt::format("{} {:.6g}\n", k, v);
  s += fmt::format("seconds {:.2f}\nparameters {}\n", seconds, parameters);
  return s;
}

core::TrialResults results_of(const AttackReport& report) {
  core::TrialResults r;
  r.accuracy_before = report.accuracy_before;
  r.test_accuracy = report.accuracy_after;
  r.seconds = report.seconds;
  r.watermark_before = reading_of(report.before);
  r.watermark = reading_of(report.after);
  r.figures = report.figures;
  return r;
}

AttackReport run_attack(const std::string& checkpoint_path, const AttackSpec& spec, const AttackOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (spec.kind == AttackKind::kDistill && !options.output_checkpoint.empty())
    throw ConfigError("attack distill: --out is not supported (the surrogate may be of another architecture)");
  WatermarkedModel w = load_watermarked_model(checkpoint_path, options.dataset_path, torch::Device(options.device));
  LoadedModel& m = w.loaded;
  const Dataset& ds = w.dataset;
  WatermarkSpec wm = m.config.watermark;
  if (!spec.h.empty()) wm.remote_h = spec.h;
  AttackReport report;
  report.attack = to_string(spec.kind);
  report.parameters = spec.yaml;
  report.accuracy_before = evaluate_accuracy(*m.model, ds.test, kEvalBatch);
  report.before = verify_model(*m.model, *m.scheme, ds, wm, /*remote=*/spec.uses_api());
  spdlog::info("attack {} on {}: accuracy {:.4f}, white-box BER {:.4f} before", report.attack, checkpoint_path,
               report.accuracy_before, report.before.ber_white_box);
  Context c{spec, m, ds, wm, report, options.on_step};
  torch::manual_seed(spec.seed);
  Classifier attacked = m.model;
  switch (spec.kind) {
    case AttackKind::kFtll: case AttackKind::kFtal: case AttackKind::kRtll: case AttackKind::kRtal:
      fine_tuning_attack(c);
      break;
    case AttackKind::kPrune: case AttackKind::kPruneLayerwise:
      pruning_attack(c);
      break;
    case AttackKind::kQuantize:
      quantize_model_(*m.model, spec.bits, spec.quantize_variant);
      break;
    case AttackKind::kNoise:
      api_attack(c, spec.trials, [&](int64_t t) {
        return ApiHooks{input_noise(ds.normalizer, ds.shape, spec.sigma, spec.seed + static_cast<uint64_t>(t)), {}};
      });
      break;
    case AttackKind::kScoreRounding:
      api_attack(c, 1, [&](int64_t) { return ApiHooks{{}, score_rounding(spec.decimals)}; });
      break;
    case AttackKind::kScorePerturbation:
      api_attack(c, spec.trials, [&](int64_t t) { return ApiHooks{{}, score_perturbation(spec.seed + static_cast<uint64_t>(t))}; });
      break;
    case AttackKind::kOverwrite:
      overwriting_attack(c);
      break;
    case AttackKind::kDistill:
      attacked = distillation_attack(c);
      break;
  }
  if (!spec.uses_api()) {
    report.accuracy_after = evaluate_accuracy(*attacked, ds.test, kEvalBatch);
    try {
      report.after = verify_model(*attacked, *m.scheme, ds, wm, /*remote=*/false);
    } catch (const ConfigError& e) {  // a weight scheme cannot be read from a surrogate without its layer
      report.after = report.before;
      report.after.white_box = false;
      report.after.remote.clear();
      report.figures["watermark_unreadable"] = 1.0;
      spdlog::warn("attack {}: the watermark cannot be read from the attacked model: {}", report.attack, e.what());
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!options.output_checkpoint.empty()) {
    const std::map<std::string, double> metrics = results_of(report).to_scalars();
    const auto parent = std::filesystem::path(options.output_checkpoint).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save_model_checkpoint(options.output_checkpoint, *attacked, m.config, ds, m.scheme.get(), metrics);
  }
  return report;
}

}  // namespace signsweep::workers
