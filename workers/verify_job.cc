#include "workers/verify_job.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/errors.h"
#include "core/vocabulary.h"
#include "storage/atomic_file.h"
#include "report/statistics.h"
#include "workers/data/dataset.h"
#include "workers/evaluation/checkpoint_io.h"
#include "workers/evaluation/evaluation.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/keras_import.h"
#include "workers/models/classifier.h"
#include "workers/schemes/verdict.h"
#include "workers/train/trainer.h"
#include "workers/train_job.h"  // import: the checkpoint records a TrainOutcome
#include "workers/watermarks/scheme_factory.h"

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
      if (options.on_null_model) options.on_null_model();
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
  storage::make_directories(parent.string());
  save_model_checkpoint(checkpoint_path, *ref.imported.model, ref.config, ref.dataset, ref.scheme.get(),
                        results_of(outcome).to_scalars(),
                        fmt::format("keras {} with keys {}", std::filesystem::weakly_canonical(options.model_path).string(),
                                    std::filesystem::weakly_canonical(options.keys_dir).string()));
  spdlog::info("checkpoint written: {}", checkpoint_path);
  return r;
}

}  // namespace signsweep::workers
