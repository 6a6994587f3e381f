#include "workers/jobs.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "comm/collective.h"
#include "common/errors.h"
#include "workers/checkpoint_io.h"
#include "workers/data/dataset.h"
#include "workers/evaluation.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/gradsigns/verdict.h"
#include "workers/schemes/scheme_factory.h"
#include "workers/keras_import.h"
#include "workers/models/classifier.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kNullModelsInTheLiterature = 30;

std::string counts_text(const Split& split, int64_t num_classes) {
  return fmt::format("{}", fmt::join(class_counts(split.label_vector(), num_classes), " "));
}

}  // namespace

std::string VerificationReport::text() const {
  if (!watermarked) return "watermark none\n";
  std::string s = fmt::format("scheme {}\nbits {}\n", scheme, bits);
  if (white_box)
    s += fmt::format(
        "ber_white_box {:.6f}\nbit_accuracy_white_box {:.6f}\nmean_repeat_ber_test {:.6f}\nmean_repeat_ber_train "
        "{:.6f}\nmatched_bits {}\np_value {:.6g}\nverdict {} (significance {:g})\n",
        ber_white_box, 1.0 - ber_white_box, mean_repeat_ber_test, mean_repeat_ber_train, matched, p_value,
        owned ? "owned" : "not-owned", significance);
  if (null_models > 0)
    s += fmt::format(
        "empirical_threshold {:.6f} (lowest BER of {} non-watermarked models, mean {:.4f})\nnull_false_positive_rate {:.4f} "
        "(null models judged owned at significance {:g})\nverdict_empirical {}\n",
        empirical_threshold, null_models, null_mean_ber, null_false_positive_rate, significance,
        owned_empirically ? "owned" : "not-owned");
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
    out.watermark_seed = scheme->record().seed;
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
  WatermarkSpec spec = m.config.watermark;
  if (!options.h.empty()) spec.remote_h = options.h;
  if (options.images > 0) spec.verify_images = spec.remote_images = options.images;
  if (options.repeats > 0) spec.verify_repeats = options.repeats;
  VerificationReport r = verify_model(*m.model, *m.scheme, ds, spec, options.remote);
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

KerasVerifyReport verify_keras_model(const KerasVerifyOptions& options) {
  TrainSpec threads;
  seed_and_set_threads(threads);
  const ImportedModel imported = import_keras_resnet20(options.model_path);
  spdlog::info("imported {}: resnet20, {} parameters, input {}, {} classes", options.model_path,
               count_parameters(*imported.model), to_string(imported.input_shape), imported.num_classes);
  const WatermarkSecrets secrets =
      load_reference_secrets(options.keys_dir, imported.input_shape, imported.num_classes, options.target_class);
  DatasetSpec data;
  data.name = "image-folder";
  data.path = options.data_dir;
  data.channels = imported.input_shape.channels;
  data.normalization = Normalization::kPerPixelMean;  // the reference's preprocessing
  const Dataset ds = load_dataset_logged(data);
  if (ds.shape != imported.input_shape || ds.num_classes != imported.num_classes)
    throw DataError(fmt::format("{}: images are {} in {} classes but the model takes {} in {}", options.data_dir,
                                to_string(ds.shape), ds.num_classes, to_string(imported.input_shape), imported.num_classes));
  KerasVerifyReport r;
  r.test_accuracy = evaluate_accuracy(*imported.model, ds.test, 1000);
  r.test_images = ds.test.size();
  WatermarkSpec spec;
  spec.remote_h = options.verify.h.empty() ? std::vector<double>{1e-1, 1e-2, 1e-3, 1e-4} : options.verify.h;
  if (options.verify.images > 0) spec.verify_images = spec.remote_images = options.verify.images;
  if (options.verify.repeats > 0) spec.verify_repeats = options.verify.repeats;
  const GradSigns gs(secrets, imported.input_shape, 0.0);
  r.verification = verify_model(*imported.model, gs, ds, spec, options.verify.remote);
  return r;
}

}  // namespace signsweep::workers
