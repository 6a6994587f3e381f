#include "workers/jobs.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "workers/checkpoint_io.h"
#include "workers/data/dataset.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/gradsigns/verdict.h"
#include "workers/keras_import.h"
#include "workers/models/classifier.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

std::string counts_text(const Split& split, int64_t num_classes) {
  return fmt::format("{}", fmt::join(class_counts(split.label_vector(), num_classes), " "));
}

constexpr int64_t kAllImages = std::numeric_limits<int64_t>::max();

VerificationReport verify_model(ClassifierImpl& model, const GradSigns& gs, const Dataset& ds, const WatermarkSpec& spec,
                                bool remote) {
  VerificationReport r;
  r.watermarked = true;
  r.bits = gs.secrets().bits();
  r.significance = spec.significance;
  const int64_t t = gs.target_class();
  const Extraction test = extract_white_box(model, gs, target_images(ds.test, t, kAllImages, 1), spec.verify_images,
                                            spec.verify_repeats, 11);
  const Extraction train = extract_white_box(model, gs, target_images(ds.train, t, kAllImages, 2), spec.verify_images,
                                             spec.verify_repeats, 12);
  r.ber_white_box = test.ber;
  r.mean_repeat_ber_test = test.mean_repeat_ber;
  r.mean_repeat_ber_train = train.mean_repeat_ber;
  const Verdict v = decide(test.bits, gs.secrets().signature, spec.significance);
  r.matched = v.matched;
  r.p_value = v.p_value;
  r.owned = v.owned;
  if (remote && spec.remote_images > 0) {
    const torch::Tensor images = target_images(ds.test, t, spec.remote_images, 3);
    for (const double h : spec.remote_h) {
      PredictionApi api(model, spec.remote_float64 ? torch::kFloat64 : torch::kFloat32);
      const Extraction e = extract_remote(api, gs, images, h);
      r.remote.push_back({h, e.ber, api.queries()});
    }
  }
  return r;
}

struct TimedDataset {
  Dataset dataset;
  double seconds = 0.0;
};

TimedDataset load_dataset_timed(const DatasetSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  TimedDataset t{prepare_dataset(load_raw_dataset(spec), spec)};
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

Dataset load_dataset_logged(const DatasetSpec& spec) {
  TimedDataset t = load_dataset_timed(spec);
  const Dataset& ds = t.dataset;
  spdlog::info("dataset {}: {} train / {} test images of {} in {:.2f} s ({:.0f} MiB)", ds.name, ds.train.size(),
               ds.test.size(), to_string(ds.shape), t.seconds, static_cast<double>(ds.bytes()) / (1 << 20));
  return std::move(t.dataset);
}

}  // namespace

std::string VerificationReport::text() const {
  if (!watermarked) return "watermark none\n";
  std::string s = fmt::format(
      "bits {}\nber_white_box {:.6f}\nbit_accuracy_white_box {:.6f}\nmean_repeat_ber_test {:.6f}\nmean_repeat_ber_train "
      "{:.6f}\nmatched_bits {}\np_value {:.6g}\nverdict {} (significance {:g})\n",
      bits, ber_white_box, 1.0 - ber_white_box, mean_repeat_ber_test, mean_repeat_ber_train, matched, p_value,
      owned ? "owned" : "not-owned", significance);
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

TrainOutcome train_trial(const TrialConfig& config, const std::string& checkpoint_path) {
  seed_and_set_threads(config.trainer);
  const Dataset ds = load_dataset_logged(config.dataset);
  const Classifier model = build_model(config.model, ds.shape, ds.num_classes);
  TrainOutcome out;
  out.parameters = count_parameters(*model);
  spdlog::info("model {}: {} parameters; {} threads", config.model.name, out.parameters, torch::get_num_threads());

  std::optional<GradSigns> gs;
  const WatermarkSpec& wm = config.watermark;
  if (wm.enabled) {
    try {  // sizes that depend on the data (carriers <= input size, target class < classes)
      gs.emplace(generate_secrets(wm.bits, wm.carriers, wm.target_class, ds.shape, ds.num_classes, wm.order, wm.seed),
                 ds.shape, wm.lambda);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", config.file, e.what()));
    }
    spdlog::info("watermark gradsigns: N={} bits, C={} carriers, lambda={}, target class {} ({}), {} target images per batch",
                 wm.bits, wm.carriers, wm.lambda, wm.target_class, ds.class_names.at(static_cast<size_t>(wm.target_class)),
                 wm.target_per_batch);
  }
  const TrainResult r = train_classifier(*model, ds, config.trainer, EmbedOptions{gs ? &*gs : nullptr, wm.target_per_batch});
  out.test_accuracy = evaluate_accuracy(*model, ds.test, config.trainer.eval_batch_size);
  out.seconds = r.seconds;
  out.images_per_second = r.epochs.back().images_per_second;
  out.best_epoch = r.best_epoch;
  std::map<std::string, double> metrics{{"test_accuracy", out.test_accuracy}, {"best_epoch", static_cast<double>(r.best_epoch)}};
  if (gs) {
    out.verification = verify_model(*model, *gs, ds, wm, /*remote=*/true);
    metrics["ber_white_box"] = out.verification.ber_white_box;
    metrics["p_value"] = out.verification.p_value;
    for (const auto& rr : out.verification.remote) metrics[fmt::format("ber_remote_h{:g}", rr.h)] = rr.ber;
  }
  if (!checkpoint_path.empty()) {
    const auto parent = std::filesystem::path(checkpoint_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save_model_checkpoint(checkpoint_path, *model, config, ds, gs ? &gs->secrets() : nullptr, wm.lambda, metrics);
    out.checkpoint = checkpoint_path;
    spdlog::info("checkpoint written: {}", checkpoint_path);
  }
  return out;
}

VerificationReport verify_checkpoint(const std::string& checkpoint_path, const VerifyOptions& options) {
  LoadedModel m = load_model_checkpoint(checkpoint_path);
  if (!m.secrets) throw DataError(fmt::format("{}: the checkpoint carries no watermark (/watermark missing)", checkpoint_path));
  seed_and_set_threads(m.config.trainer);
  DatasetSpec data = m.config.dataset;
  if (!options.dataset_path.empty()) data.path = options.dataset_path;
  const Dataset ds = load_dataset_logged(data);
  if (ds.shape != m.input_shape || ds.num_classes != m.num_classes)
    throw DataError(fmt::format("{}: model expects {} images of {} classes but the data set has {} of {}", checkpoint_path,
                                to_string(m.input_shape), m.num_classes, to_string(ds.shape), ds.num_classes));
  WatermarkSpec spec = m.config.watermark;
  if (!options.h.empty()) spec.remote_h = options.h;
  if (options.images > 0) spec.verify_images = spec.remote_images = options.images;
  if (options.repeats > 0) spec.verify_repeats = options.repeats;
  const GradSigns gs(*m.secrets, m.input_shape, m.lambda);
  return verify_model(*m.model, gs, ds, spec, options.remote);
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
