#include "workers/models/small_cnn.h"

#include <fmt/format.h>

#include "workers/models/resnet20.h"

namespace signsweep::workers {

SmallCnnImpl::SmallCnnImpl(int64_t in_channels, int64_t num_classes, int64_t width, bool batch_norm) {
  const int64_t channels[] = {in_channels, width, width, 2 * width, 2 * width};
  for (size_t i = 0; i < 4; ++i) {
    auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(channels[i], channels[i + 1], 3).padding(1));
    he_normal_(conv->weight);
    torch::nn::init::zeros_(conv->bias);
    convs_.push_back(register_module(fmt::format("conv{}", i + 1), conv));
    if (batch_norm)
      bns_.push_back(register_module(fmt::format("bn{}", i + 1), torch::nn::BatchNorm2d(keras_batch_norm(channels[i + 1]))));
  }
  fc_ = register_module("fc", torch::nn::Linear(2 * width, num_classes));
}

torch::Tensor SmallCnnImpl::conv_block(const torch::Tensor& x, size_t i) {
  torch::Tensor y = convs_[i]->forward(x);
  if (!bns_.empty()) y = bns_[i]->forward(y);
  return torch::relu(y);
}

torch::Tensor SmallCnnImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv_block(conv_block(x, 0), 1);
  y = torch::max_pool2d(y, 2);
  y = conv_block(conv_block(y, 2), 3);
  y = torch::max_pool2d(y, 2);
  return fc_->forward(y.mean({2, 3}));
}

}  // namespace signsweep::workers
