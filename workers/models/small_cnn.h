// small-cnn: four 3x3 convolutions (width, width, 2*width, 2*width; optional BatchNorm), two 2x2 max
// pools, flatten and a dense layer. Fast enough for tests and quick CPU runs. Not a reference model:
// BatchNorm uses PyTorch's momentum 0.1 (Keras' 0.99 leaves the running statistics near their initial
// values for the first few hundred steps, which short runs cannot afford).
#pragma once

#include "workers/models/classifier.h"

namespace signsweep::workers {

class SmallCnnImpl : public ClassifierImpl {
 public:
  SmallCnnImpl(const ImageShape& input, int64_t num_classes, int64_t width, bool batch_norm);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }

 private:
  torch::Tensor conv_block(const torch::Tensor& x, size_t i);
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;  // empty without BatchNorm
  torch::nn::Linear fc_{nullptr};
};

}  // namespace signsweep::workers
