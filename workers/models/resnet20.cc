#include "workers/models/resnet20.h"

#include <fmt/format.h>

#include "workers/models/double_backward.h"

namespace signsweep::workers {
namespace {

namespace F = torch::nn::functional;

// TensorFlow "same": out = ceil(in / stride); total padding split with the extra at the end.
std::pair<int64_t, int64_t> same_padding(int64_t in, int64_t kernel, int64_t stride) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}

}  // namespace

torch::nn::BatchNorm2dOptions keras_batch_norm(int64_t channels) {
  return torch::nn::BatchNorm2dOptions(channels).eps(1e-3).momentum(0.01);  // Keras momentum 0.99
}

SameConv2dImpl::SameConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride)
    : kernel_(kernel), stride_(stride) {
  weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
  bias = register_parameter("bias", torch::zeros({out}));
  he_normal_(weight);
}

torch::Tensor SameConv2dImpl::forward(const torch::Tensor& x) {
  const auto [top, bottom] = same_padding(x.size(2), kernel_, stride_);
  const auto [left, right] = same_padding(x.size(3), kernel_, stride_);
  if (top == bottom && left == right)  // symmetric: let the convolution pad (no extra copy)
    return scoped_conv2d(x, weight, bias, stride_, top, left);
  const torch::Tensor padded = F::pad(x, F::PadFuncOptions({left, right, top, bottom}));
  return scoped_conv2d(padded, weight, bias, stride_, 0, 0);
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride)
    : conv1_(register_module("conv1", SameConv2d(in, out, 3, stride))),
      conv2_(register_module("conv2", SameConv2d(out, out, 3, 1))),
      bn1_(register_module("bn1", torch::nn::BatchNorm2d(keras_batch_norm(out)))),
      bn2_(register_module("bn2", torch::nn::BatchNorm2d(keras_batch_norm(out)))) {
  if (stride != 1 || in != out) shortcut_ = register_module("shortcut", SameConv2d(in, out, 1, stride));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = scoped_relu(scoped_batch_norm(*bn1_, conv1_(x)));
  y = scoped_batch_norm(*bn2_, conv2_(y));
  const torch::Tensor skip = shortcut_ ? shortcut_(x) : x;
  return scoped_relu(skip + y);
}

ResNet20Impl::ResNet20Impl(int64_t in_channels, int64_t num_classes)
    : conv0_(register_module("conv0", SameConv2d(in_channels, 16, 3, 1))),
      bn0_(register_module("bn0", torch::nn::BatchNorm2d(keras_batch_norm(16)))),
      fc_(register_module("fc", torch::nn::Linear(64, num_classes))) {
  constexpr int kStacks = 3;
  constexpr int kBlocksPerStack = 3;
  int64_t in = 16;
  for (int s = 0; s < kStacks; ++s) {
    const int64_t filters = 16 << s;
    for (int b = 0; b < kBlocksPerStack; ++b) {
      const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      blocks_->push_back(fmt::format("stack{}_block{}", s + 1, b + 1), ResidualBlock(in, filters, stride));
      in = filters;
    }
  }
  register_module("blocks", blocks_);
  he_normal_(fc_->weight);
  torch::nn::init::zeros_(fc_->bias);
}

torch::Tensor ResNet20Impl::forward(const torch::Tensor& x) {
  torch::Tensor y = scoped_relu(scoped_batch_norm(*bn0_, conv0_(x)));
  y = blocks_->forward(y);
  y = y.mean({2, 3});  // global average pooling
  return fc_(y);
}

}  // namespace signsweep::workers
