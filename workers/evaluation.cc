#include "workers/evaluation.h"

#include <chrono>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"

#include "workers/gradsigns/gradsigns.h"
#include "workers/gradsigns/verdict.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kAllImages = std::numeric_limits<int64_t>::max();

// The pool a scheme reads with: target-class images for GradSigns, nothing for weight schemes.
torch::Tensor reading_pool(const WatermarkScheme& scheme, const Split& split, uint64_t seed) {
  const std::optional<int64_t> target = scheme.batch_target_class();
  return target ? target_images(split, *target, kAllImages, seed) : torch::Tensor();
}

}  // namespace

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

WatermarkedModel load_watermarked_model(const std::string& checkpoint_path, const std::string& dataset_path,
                                        torch::Device device) {
  LoadedModel m = load_model_checkpoint(checkpoint_path, device);
  if (!m.scheme) throw DataError(fmt::format("{}: the checkpoint carries no watermark (/watermark missing)", checkpoint_path));
  seed_and_set_threads(m.config.trainer);
  DatasetSpec data = m.config.dataset;
  if (!dataset_path.empty()) data.path = dataset_path;
  Dataset ds = load_dataset_logged(data);
  if (ds.shape != m.input_shape || ds.num_classes != m.num_classes)
    throw DataError(fmt::format("{}: model expects {} images of {} classes but the data set has {} of {}", checkpoint_path,
                                to_string(m.input_shape), m.num_classes, to_string(ds.shape), ds.num_classes));
  return {std::move(m), std::move(ds)};
}

std::vector<RemoteReading> read_remote(ClassifierImpl& model, const WatermarkScheme& scheme, const Dataset& ds,
                                       const WatermarkSpec& spec, const ApiHooks& hooks) {
  std::vector<RemoteReading> readings;
  if (!scheme.readable_remotely() || spec.remote_images <= 0) return readings;
  const torch::Tensor images = target_images(ds.test, scheme.batch_target_class().value_or(0), spec.remote_images, 3);
  for (const double h : spec.remote_h) {
    PredictionApi api(model, spec.remote_float64 ? torch::kFloat64 : torch::kFloat32);
    api.transform_input = hooks.transform_input;
    api.postprocess = hooks.postprocess;
    const Extraction e = scheme.read_remote(api, images, h);
    readings.push_back({h, e.ber, api.queries()});
  }
  return readings;
}

VerificationReport verify_model(ClassifierImpl& model, const WatermarkScheme& scheme, const Dataset& ds,
                                const WatermarkSpec& spec, bool remote, const ApiHooks& hooks) {
  VerificationReport r;
  r.watermarked = true;
  r.scheme = scheme.name();
  r.bits = scheme.bits();
  r.significance = spec.significance;
  const Extraction test =
      scheme.read_white_box(model, reading_pool(scheme, ds.test, 1), spec.verify_images, spec.verify_repeats, 11);
  const Extraction train =
      scheme.read_white_box(model, reading_pool(scheme, ds.train, 2), spec.verify_images, spec.verify_repeats, 12);
  r.ber_white_box = test.ber;
  r.mean_repeat_ber_test = test.mean_repeat_ber;
  r.mean_repeat_ber_train = train.mean_repeat_ber;
  const Verdict v = decide(test.bits, scheme.signature(), spec.significance);
  r.matched = v.matched;
  r.p_value = v.p_value;
  r.owned = v.owned;
  if (remote) r.remote = read_remote(model, scheme, ds, spec, hooks);
  return r;
}

}  // namespace signsweep::workers
