// small-cnn: four 3x3 convolutions (width, width, 2*width, 2*width; optional BatchNorm), two 2x2 max
// pools, global average pooling and a dense layer. Fast enough for tests and quick CPU runs.
#pragma once

#include "workers/models/classifier.h"

namespace signsweep::workers {

class SmallCnnImpl : public ClassifierImpl {
 public:
  SmallCnnImpl(int64_t in_channels, int64_t num_classes, int64_t width, bool batch_norm);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }

 private:
  torch::Tensor conv_block(const torch::Tensor& x, size_t i);
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;  // empty without BatchNorm
  torch::nn::Linear fc_{nullptr};
};

}  // namespace signsweep::workers
