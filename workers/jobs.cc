#include "workers/jobs.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "comm/collective.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/hash.h"
#include "storage/atomic_file.h"
#include "storage/statistics.h"
#include "workers/checkpoint_io.h"
#include "workers/data/dataset.h"
#include "workers/evaluation.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/gradsigns/verdict.h"
#include "workers/schemes/scheme_factory.h"
#include "workers/keras_import.h"
#include "workers/models/classifier.h"
#include "workers/train/trainer.h"
#include "core/vocabulary.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kNullModelsInTheLiterature = 30;

// A watermark's reading settings with the CLI's overrides.
WatermarkSpec with_overrides(WatermarkSpec spec, const VerifyOptions& options) {
  if (!options.h.empty()) spec.remote_h = options.h;
  if (options.images > 0) spec.verify_images = spec.remote_images = options.images;
  if (options.repeats > 0) spec.verify_repeats = options.repeats;
  return spec;
}

std::string counts_text(const Split& split, int64_t num_classes) {
  return fmt::format("{}", fmt::join(class_counts(split.label_vector(), num_classes), " "));
}

}  // namespace

std::string VerificationReport::text() const {
  std::string s = test_images > 0 ? fmt::format("test_accuracy {:.4f} ({} test images)\n", test_accuracy, test_images) : "";
  if (!watermarked) return s + "watermark none\n";
  s += fmt::format("scheme {}\nbits {}\n", scheme, bits);
  if (white_box)
    s += fmt::format(
        "ber_white_box {:.6f}\nbit_accuracy_white_box {:.6f}\nmean_repeat_ber_test {:.6f}\nmean_repeat_ber_train "
        "{:.6f}\nmatched_bits {}\np_value {:.6g}\nverdict {} (significance {:g})\n",
        ber_white_box, 1.0 - ber_white_box, mean_repeat_ber_test, mean_repeat_ber_train, matched, p_value,
        owned ? "owned" : "not-owned", significance);
  if (null_models > 0) {
    // The false-positive rate with its exact bound: 0 of 3 null models is "at most 0.71", not "0".
    const auto false_positives = static_cast<int64_t>(std::llround(null_false_positive_rate * static_cast<double>(null_models)));
    const storage::Interval fpr = storage::clopper_pearson(false_positives, null_models);
    s += fmt::format(
        "empirical_threshold {:.6f} (lowest BER of {} non-watermarked models, mean {:.4f}{})\nnull_false_positive_rate "
        "{:.4f} ({} of {} null models judged owned at significance {:g}; 95% Clopper-Pearson [{:.3g}, {:.3g}])\n"
        "verdict_empirical {}\n",
        empirical_threshold, null_models, null_mean_ber,
        null_models < 30 ? "; fewer than the ~30 that make a threshold meaningful" : "", null_false_positive_rate,
        false_positives, null_models, significance, fpr.lo, fpr.hi, owned_empirically ? "owned" : "not-owned");
  }
  for (const auto& rr : remote) s += fmt::format("ber_remote h={:g} {:.6f} ({} queries)\n", rr.h, rr.ber, rr.queries);
  return s;
}

DatasetSummary describe_dataset(const DatasetSpec& spec) {
  const TimedDataset t = load_dataset_timed(spec);
  const Dataset& ds = t.dataset;
  DatasetSummary s;
  s.load_seconds = t.seconds;
  s.bytes = ds.bytes();
  s.text = fmt::format(
      "dataset        {}\nsource         {}\nimage shape    {} (CxHxW)\nclasses        {}: {}\n"
      "train          {} images, per class: {}\ntest           {} images, per class: {}\n"
      "normalization  {}\naugment        shift {} flip {}\nmemory         {:.1f} MiB (float32 tensors)\n"
      "load time      {:.2f} s\n",
      ds.name, ds.source, to_string(ds.shape), ds.num_classes, fmt::join(ds.class_names, ", "), ds.train.size(),
      counts_text(ds.train, ds.num_classes), ds.test.size(), counts_text(ds.test, ds.num_classes),
      to_string(spec.normalization), spec.augment.shift, spec.augment.flip, static_cast<double>(s.bytes) / (1 << 20),
      s.load_seconds);
  return s;
}

TrainOutcome train_trial(const TrialConfig& config, const std::string& checkpoint_path, const TrialContext& context) {
  seed_and_set_threads(config.trainer);
  const Dataset ds = load_dataset_logged(config.dataset);
  const Classifier model = build_model(config.model, ds.shape, ds.num_classes);
  model->to(torch::Device(context.device));  // before the scheme and the optimiser are built on its parameters
  TrainOutcome out;
  out.parameters = count_parameters(*model);
  spdlog::info("model {}: {} parameters; {} threads; device {}", config.model.name, out.parameters, torch::get_num_threads(),
               context.device);

  std::unique_ptr<WatermarkScheme> scheme;
  const WatermarkSpec& wm = config.watermark;
  if (wm.enabled) {
    try {  // sizes that depend on the data and model (carriers <= input size, target class < classes, layer)
      scheme = make_scheme(wm, *model, ds.shape, ds.num_classes);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", config.file, e.what()));
    }
    if (wm.scheme == SchemeKind::kUchida)
      spdlog::info("watermark uchida: N={} bits in layer {}, lambda={}", wm.bits, scheme->record().layer, wm.lambda);
    else
      spdlog::info("watermark gradsigns: N={} bits, C={} carriers, lambda={}, target class {} ({}), {} target images per batch",
                   wm.bits, wm.carriers, wm.lambda, wm.target_class, ds.class_names.at(static_cast<size_t>(wm.target_class)),
                   wm.target_per_batch);
  }
  EmbedOptions embed{scheme.get(), wm.target_per_batch, context.group, context.on_progress, context.time_limit_s,
                     context.state_path, context.stop_requested};
  const TrainResult r = train_classifier(*model, ds, config.trainer, embed);
  if (context.group != nullptr && context.group->rank() != 0) return out;  // group rank 0 reports and saves
  out.test_accuracy = evaluate_accuracy(*model, ds.test, config.trainer.eval_batch_size);
  out.seconds = r.seconds;
  out.images_per_second = r.epochs.back().images_per_second;
  out.best_epoch = r.best_epoch;
  for (const EpochStats& e : r.epochs) {
    out.series["loss"].push_back(e.loss);
    out.series["train_accuracy"].push_back(e.train_accuracy);
    out.series["test_accuracy"].push_back(e.test_accuracy);
    out.series["bit_accuracy"].push_back(e.bit_accuracy);
    out.series["lr"].push_back(e.lr);
    out.series["images_per_second"].push_back(e.images_per_second);
  }
  if (scheme) {
    out.verification = verify_model(*model, *scheme, ds, wm, /*remote=*/true);
  }
  if (!checkpoint_path.empty()) {
    const auto parent = std::filesystem::path(checkpoint_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save_model_checkpoint(checkpoint_path, *model, config, ds, scheme.get(), results_of(out).to_scalars());
    out.checkpoint = checkpoint_path;
    spdlog::info("checkpoint written: {}", checkpoint_path);
  }
  return out;
}

VerificationReport verify_checkpoint(const std::string& checkpoint_path, const VerifyOptions& options) {
  WatermarkedModel w = load_watermarked_model(checkpoint_path, options.dataset_path);
  const LoadedModel& m = w.loaded;
  const Dataset& ds = w.dataset;
  const WatermarkSpec spec = with_overrides(m.config.watermark, options);
  VerificationReport r = verify_model(*m.model, *m.scheme, ds, spec, options.remote);
  r.test_accuracy = evaluate_accuracy(*m.model, ds.test, m.config.trainer.eval_batch_size);
  r.test_images = ds.test.size();
  if (!options.null_models.empty()) {
    std::vector<double> bers;
    int64_t false_positives = 0;
    for (const std::string& path : options.null_models) {
      const LoadedModel null_model = load_model_checkpoint(path);
      if (null_model.scheme && !options.allow_watermarked_null)
        throw ConfigError(fmt::format("{}: this checkpoint carries a watermark ({}, {} bits): a null model must be trained "
                                      "without one (pass --allow-watermarked-null to use it anyway)",
                                      path, null_model.scheme->name(), null_model.scheme->bits()));
      if (null_model.input_shape != m.input_shape || null_model.num_classes != m.num_classes)
        throw DataError(fmt::format("{}: a null model must take the same inputs and classes as {}", path, checkpoint_path));
      const VerificationReport n = verify_model(*null_model.model, *m.scheme, ds, spec, /*remote=*/false);
      bers.push_back(n.ber_white_box);
      false_positives += n.owned;
    }
    const EmpiricalThreshold t = empirical_threshold(bers);
    r.null_models = t.models;
    r.empirical_threshold = t.min_ber;
    r.null_mean_ber = t.mean_ber;
    r.null_false_positive_rate = static_cast<double>(false_positives) / static_cast<double>(t.models);
    r.owned_empirically = r.ber_white_box < t.min_ber;
    if (t.models < kNullModelsInTheLiterature)
      spdlog::warn("{} null model(s): the empirical threshold is the lowest BER of {}; the literature uses about {}", t.models,
                   t.models, kNullModelsInTheLiterature);
  }
  return r;
}

}  // namespace signsweep::workers

namespace signsweep::workers {
namespace {

// The released model as the reference trained it: its recipe (ResNet-20 v1, Adam 1e-3 with the reference's
// schedule, 200 epochs of 500 steps, L2 1e-4 on kernels) on the data folder, its N and C, lambda 0.3 (the
// reference's default), the reference's readings (50 images x 20 repeats; h 1e-1..1e-4). The secrets come
// from the .npy files, not from a seed: seed 0 only fills the field.
TrialConfig reference_config(const KerasVerifyOptions& o, const ImageShape& shape, const WatermarkSecrets& s) {
  YAML::Node c;
  c["dataset"]["name"] = "image-folder";
  c["dataset"]["path"] = o.data_dir;
  c["dataset"]["channels"] = shape.channels;
  c["dataset"]["normalization"] = "per-pixel-mean";
  c["model"]["name"] = "resnet20";
  YAML::Node t = c["trainer"];
  t["optimizer"] = "adam";
  t["lr"] = 0.001;
  t["lr_schedule"] = "reference";
  t["epochs"] = 200;
  t["steps_per_epoch"] = 500;
  t["batch_size"] = 100;
  t["weight_decay"] = 0.0001;
  YAML::Node w = c["watermark"];
  w["scheme"] = core::to_string(core::SchemeKind::kGradSigns);
  w["bits"] = static_cast<int64_t>(s.signature.size());
  w["carriers"] = static_cast<int64_t>(s.carriers.size());
  w["lambda"] = 0.3;
  w["target_class"] = s.target_class;
  w["flatten"] = "nhwc";
  w["seed"] = 0;
  w["verify"]["images"] = 50;
  w["verify"]["repeats"] = 20;
  w["verify"]["remote_images"] = 50;
  for (const double h : {1e-1, 1e-2, 1e-3, 1e-4}) w["verify"]["h"].push_back(h);
  return parse_trial_config(common::ConfigNode::from_node(c, o.model_path + " (imported)"));
}

struct ReferenceModel {
  ImportedModel imported;
  TrialConfig config;
  std::unique_ptr<GradSigns> scheme;
  Dataset dataset;
};

ReferenceModel load_reference_model(const KerasVerifyOptions& options) {
  TrainSpec threads;
  seed_and_set_threads(threads);
  ReferenceModel ref;
  ref.imported = import_keras_resnet20(options.model_path);
  const ImportedModel& m = ref.imported;
  spdlog::info("imported {}: resnet20, {} parameters, input {}, {} classes", options.model_path, count_parameters(*m.model),
               to_string(m.input_shape), m.num_classes);
  WatermarkSecrets secrets = load_reference_secrets(options.keys_dir, m.input_shape, m.num_classes, options.target_class);
  ref.config = reference_config(options, m.input_shape, secrets);
  ref.scheme = std::make_unique<GradSigns>(std::move(secrets), m.input_shape, ref.config.watermark.lambda);
  ref.dataset = load_dataset_logged(ref.config.dataset);  // the reference's preprocessing: x/255 - per-pixel train mean
  if (ref.dataset.shape != m.input_shape || ref.dataset.num_classes != m.num_classes)
    throw DataError(fmt::format("{}: images are {} in {} classes but the model takes {} in {}", options.data_dir,
                                to_string(ref.dataset.shape), ref.dataset.num_classes, to_string(m.input_shape), m.num_classes));
  return ref;
}

KerasVerifyReport read_reference_model(const ReferenceModel& ref, const KerasVerifyOptions& options) {
  KerasVerifyReport r;
  r.test_accuracy = evaluate_accuracy(*ref.imported.model, ref.dataset.test, 1000);
  r.test_images = ref.dataset.test.size();
  r.verification = verify_model(*ref.imported.model, *ref.scheme, ref.dataset, with_overrides(ref.config.watermark, options.verify),
                                options.verify.remote);
  return r;
}

}  // namespace

KerasVerifyReport verify_keras_model(const KerasVerifyOptions& options) {
  return read_reference_model(load_reference_model(options), options);
}

KerasVerifyReport import_keras_model(const KerasVerifyOptions& options, const std::string& checkpoint_path) {
  KerasVerifyOptions remote = options;
  remote.verify.remote = true;  // the checkpoint's metrics include the remote readings
  const ReferenceModel ref = load_reference_model(remote);
  const KerasVerifyReport r = read_reference_model(ref, remote);
  TrainOutcome outcome;
  outcome.test_accuracy = r.test_accuracy;
  outcome.verification = r.verification;
  const auto parent = std::filesystem::path(checkpoint_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  save_model_checkpoint(checkpoint_path, *ref.imported.model, ref.config, ref.dataset, ref.scheme.get(),
                        results_of(outcome).to_scalars(),
                        fmt::format("keras {} with keys {}", std::filesystem::weakly_canonical(options.model_path).string(),
                                    std::filesystem::weakly_canonical(options.keys_dir).string()));
  spdlog::info("checkpoint written: {}", checkpoint_path);
  return r;
}

std::map<std::string, double> adopt_checkpoint(const std::string& source, const std::string& destination,
                                               const std::string& expected_hash) {
  const std::string bytes = common::read_file_bytes(source);
  if (!expected_hash.empty() && !common::content_matches(expected_hash, bytes))
    throw DataError(fmt::format("{}: the file changed since the sweep was planned (SHA-256 {}, planned {}): start a "
                                "new store for the new model", source, common::sha256_hex(bytes), expected_hash));
  const LoadedModel m = load_model_checkpoint(source);
  if (!m.scheme) throw DataError(fmt::format("{}: carries no watermark: attack_checkpoints takes watermarked models", source));
  const auto parent = std::filesystem::path(destination).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  storage::replace_file_atomically(destination, [&](const std::string& temp) {
    std::ofstream out(temp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw Error(fmt::format("{}: cannot write the copy of {}", temp, source));
  });
  return m.metrics;
}

}  // namespace signsweep::workers
