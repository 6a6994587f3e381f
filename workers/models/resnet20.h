// ResNet-20 v1 exactly as the GradSigns reference (Keras cifar10 example): conv-BN-ReLU, 3 stacks of
// 3 residual blocks (16/32/64 filters; stride 2 and a 1x1 projection shortcut without BN at the first
// block of stacks 2 and 3), global average pooling (= the reference's 8x8 pool for 32x32 inputs), dense.
// Convolutions have biases (Keras default), BatchNorm eps 1e-3 / momentum 0.99 (Keras), he_normal init,
// TensorFlow "same" padding: for stride 2 the extra row/column goes at the bottom/right.
#pragma once

#include "workers/models/classifier.h"

namespace signsweep::workers {

// A convolution with TensorFlow's "same" padding for any input size and stride.
class SameConv2dImpl : public torch::nn::Module {
 public:
  SameConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // [out, in, k, k]
  torch::Tensor bias;    // [out]

 private:
  int64_t kernel_;
  int64_t stride_;
};
TORCH_MODULE(SameConv2d);

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  SameConv2d conv1_, conv2_;
  torch::nn::BatchNorm2d bn1_, bn2_;
  SameConv2d shortcut_{nullptr};  // 1x1 projection where the shape changes
};
TORCH_MODULE(ResidualBlock);

class ResNet20Impl : public ClassifierImpl {
 public:
  ResNet20Impl(int64_t in_channels, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::nn::Linear& head() override { return fc_; }

 private:
  SameConv2d conv0_;
  torch::nn::BatchNorm2d bn0_;
  torch::nn::Sequential blocks_;
  torch::nn::Linear fc_;
};

torch::nn::BatchNorm2dOptions keras_batch_norm(int64_t channels);

}  // namespace signsweep::workers
