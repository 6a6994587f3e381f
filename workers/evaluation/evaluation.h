// What train, verify and attack jobs share: loading a data set with a log line, and reading a model's
// watermark (white-box on test and train images, remote through a prediction API at each step h) into a
// VerificationReport with the ownership verdict.
// Thread-safety: functions only.
#pragma once

#include <functional>

#include "workers/data/dataset.h"
#include "workers/evaluation/checkpoint_io.h"
#include "workers/evaluation/verification.h"
#include "workers/schemes/scheme.h"
#include "workers/schemes/watermark_spec.h"

namespace signsweep::workers {

struct TimedDataset {
  Dataset dataset;
  double seconds = 0.0;
};
TimedDataset load_dataset_timed(const DatasetSpec& spec);
Dataset load_dataset_logged(const DatasetSpec& spec);

// A watermarked checkpoint with the data set its config names (or `dataset_path`), threads and seed set
// from its trainer section. Throws DataError when it carries no watermark or the data does not fit it.
struct WatermarkedModel {
  LoadedModel loaded;
  Dataset dataset;
};
WatermarkedModel load_watermarked_model(const std::string& checkpoint_path, const std::string& dataset_path,
                                        torch::Device device = torch::kCPU);

// Hooks a remote reading passes to the prediction API (attacks on the API: rounding, perturbation, noise).
struct ApiHooks {
  std::function<torch::Tensor(const torch::Tensor&)> transform_input;
  std::function<torch::Tensor(const torch::Tensor&)> postprocess;
};

// White-box figures always; remote readings at spec.remote_h when `remote`, the scheme can be read
// remotely (GradSigns) and spec.remote_images > 0.
VerificationReport verify_model(ClassifierImpl& model, const WatermarkScheme& scheme, const Dataset& ds,
                                const WatermarkSpec& spec, bool remote, const ApiHooks& hooks = {});

// Remote readings only (one per step h), through an API with `hooks`. Empty for weight schemes.
std::vector<RemoteReading> read_remote(ClassifierImpl& model, const WatermarkScheme& scheme, const Dataset& ds,
                                       const WatermarkSpec& spec, const ApiHooks& hooks);

}  // namespace signsweep::workers
