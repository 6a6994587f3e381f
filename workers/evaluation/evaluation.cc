#include "workers/evaluation/evaluation.h"

#include <chrono>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "report/statistics.h"

#include "workers/gradsigns/gradsigns.h"
#include "workers/schemes/verdict.h"
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
    const report::Interval fpr = report::clopper_pearson(false_positives, null_models);
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
