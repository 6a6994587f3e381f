#include "workers/train_job.h"

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
#include "core/vocabulary.h"
#include "storage/atomic_file.h"
#include "workers/data/dataset.h"
#include "workers/evaluation/checkpoint_io.h"
#include "workers/evaluation/evaluation.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/models/classifier.h"
#include "workers/schemes/verdict.h"
#include "workers/train/trainer.h"
#include "workers/watermarks/scheme_factory.h"

namespace signsweep::workers {
namespace {

std::string counts_text(const Split& split, int64_t num_classes) {
  return fmt::format("{}", fmt::join(class_counts(split.label_vector(), num_classes), " "));
}

}  // namespace

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
    storage::make_directories(parent.string());
    save_model_checkpoint(checkpoint_path, *model, config, ds, scheme.get(), results_of(out).to_scalars());
    out.checkpoint = checkpoint_path;
    spdlog::info("checkpoint written: {}", checkpoint_path);
  }
  return out;
}

core::TrialResults results_of(const TrainOutcome& out) {
  core::TrialResults r;
  r.test_accuracy = out.test_accuracy;
  r.seconds = out.seconds;
  r.figures = {{"images_per_second", out.images_per_second},
               {"parameters", static_cast<double>(out.parameters)},
               {"best_epoch", static_cast<double>(out.best_epoch)}};
  if (out.verification.watermarked) r.watermark = reading_of(out.verification);
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
  storage::make_directories(parent.string());
  storage::write_file_atomically(destination, bytes);
  return m.metrics;
}

}  // namespace signsweep::workers
