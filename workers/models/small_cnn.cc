#include "workers/models/small_cnn.h"

#include <fmt/format.h>

#include "common/errors.h"

#include "workers/models/double_backward.h"
#include "workers/models/resnet20.h"

namespace signsweep::workers {

SmallCnnImpl::SmallCnnImpl(const ImageShape& input, int64_t num_classes, int64_t width, bool batch_norm) {
  const int64_t channels[] = {input.channels, width, width, 2 * width, 2 * width};
  for (size_t i = 0; i < 4; ++i) {
    auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(channels[i], channels[i + 1], 3).padding(1));
    he_normal_(conv->weight);
    torch::nn::init::zeros_(conv->bias);
    convs_.push_back(register_module(fmt::format("conv{}", i + 1), conv));
    if (batch_norm)
      bns_.push_back(register_module(fmt::format("bn{}", i + 1),
                                     torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels[i + 1]).eps(1e-3))));
  }
  const int64_t features = 2 * width * (input.height / 4) * (input.width / 4);  // after two 2x2 pools
  if (features == 0) throw ConfigError(fmt::format("small-cnn needs inputs of at least 4x4, not {}", to_string(input)));
  fc_ = register_module("fc", torch::nn::Linear(features, num_classes));
  he_normal_(fc_->weight);
  torch::nn::init::zeros_(fc_->bias);
}

torch::Tensor SmallCnnImpl::conv_block(const torch::Tensor& x, size_t i) {
  torch::Tensor y = scoped_conv2d(x, convs_[i]->weight, convs_[i]->bias, 1, 1, 1);  // 3x3, padding 1
  if (!bns_.empty()) y = scoped_batch_norm(*bns_[i], y);
  return scoped_relu(y);
}

torch::Tensor SmallCnnImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv_block(conv_block(x, 0), 1);
  y = torch::max_pool2d(y, 2);
  y = conv_block(conv_block(y, 2), 3);
  y = torch::max_pool2d(y, 2);
  return fc_->forward(y.flatten(1));
}

}  // namespace signsweep::workers
