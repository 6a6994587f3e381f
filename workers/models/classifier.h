// The model interface every scheme and attack works with: an nn::Module mapping normalised NCHW images
// to logits (softmax is applied by the loss and by the prediction API, not by the model).
// Parameter names are stable: they are checkpoint keys and what weight-watermark schemes target.
// Thread-safety: as torch::nn::Module (not thread-safe for training).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "workers/data/image_set.h"
#include "workers/models/model_spec.h"

namespace signsweep::workers {

class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // The last dense layer (FTLL/RTLL attacks train or re-initialise it).
  virtual torch::nn::Linear& head() = 0;
  // Where the parameters live. Data sets stay on the CPU; every place that feeds the model (batches,
  // evaluation, white-box and API queries) moves its tensors here, so one code path serves CPU and GPU.
  torch::Device device() const { return parameters().front().device(); }
};
using Classifier = std::shared_ptr<ClassifierImpl>;

// Builds a model by registry name (throws ConfigError on an unknown name).
Classifier build_model(const ModelSpec& spec, const ImageShape& input, int64_t num_classes);

int64_t count_parameters(const torch::nn::Module& m);

// Keras he_normal as in the reference: truncated normal (re-drawn beyond 2 sigma), sigma = sqrt(2/fan_in).
void he_normal_(torch::Tensor& w);

}  // namespace signsweep::workers
