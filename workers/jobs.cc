#include "workers/jobs.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "workers/data/dataset.h"
#include "workers/models/classifier.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

std::string counts_text(const Split& split, int64_t num_classes) {
  const auto counts = class_counts(split.label_vector(), num_classes);
  return fmt::format("{}", fmt::join(counts, " "));
}

}  // namespace

DatasetSummary describe_dataset(const DatasetSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  const Dataset ds = prepare_dataset(load_raw_dataset(spec), spec);
  DatasetSummary s;
  s.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

TrainOutcome train_trial(const TrialConfig& config) {
  seed_and_set_threads(config.trainer);
  const auto load_start = std::chrono::steady_clock::now();
  const Dataset ds = prepare_dataset(load_raw_dataset(config.dataset), config.dataset);
  spdlog::info("dataset {}: {} train / {} test images of {} in {:.2f} s ({:.0f} MiB)", ds.name, ds.train.size(),
               ds.test.size(), to_string(ds.shape),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(),
               static_cast<double>(ds.bytes()) / (1 << 20));
  const Classifier model = build_model(config.model, ds.shape, ds.num_classes);
  TrainOutcome out;
  out.parameters = count_parameters(*model);
  spdlog::info("model {}: {} parameters; {} threads", config.model.name, out.parameters, torch::get_num_threads());
  const TrainResult r = train_classifier(*model, ds, config.trainer);
  out.test_accuracy = r.test_accuracy;
  out.seconds = r.seconds;
  out.images_per_second = r.epochs.back().images_per_second;
  return out;
}

}  // namespace signsweep::workers
