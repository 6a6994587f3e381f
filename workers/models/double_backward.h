// BatchNorm, convolutions and ReLU as the models apply them, with exact double backwards of their own for
// GradSigns steps.
//
// A GradSigns step differentiates the input gradient again (double backprop). Three of LibTorch's double
// backwards do more work than the mathematics needs:
// - BatchNorm's is a composite of ~20 unfused element-wise operations over every activation (about 30% of a
//   GradSigns step on the CPU, #33). In training mode the derivatives of BatchNorm's backward have a closed
//   form: with xhat = (x - mean) * invstd over the M = N*H*W values of a channel,
//     dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)),  dgamma = sum(dy * xhat),  dbeta = sum(dy),
//   and the gradients of <gx, dx> + gw * dgamma + gb * dbeta with respect to (dy, x, gamma) are, per element,
//   linear in (xhat, dy, gx) with per-channel coefficients built from five sums (batch_norm_kernel.cc;
//   docs/benchmarks.md derives them). The fused kernel takes the five sums and writes both outputs in one
//   sweep per channel.
// - A convolution's double backward computes the weight gradient of <ggI, gI> as a convolution of
//   transposed activations with the feature map as the kernel (and copies them to be contiguous); it is
//   convolution_backward's weight gradient with ggI as the input, the kernel LibTorch already has for it.
// - ReLU's backward, threshold_backward(dy, y), has zero derivative in y almost everywhere, yet LibTorch's
//   double backward materialises that zero as a full-size tensor and adds it into the graph. Here it is
//   simply absent.
//
// Where they are used: training-mode BatchNorm (float or double), convolutions and ReLU while a
// DoubleBackwardScope is active on the thread (the trainer opens one around a step whose scheme needs input
// gradients), on the devices own_double_backward_on names. Forwards and first backwards are LibTorch's own
// kernels (native_batch_norm, convolution, relu and their backwards), so values and first derivatives are
// LibTorch's; only the second derivatives are computed here. A third derivative through BatchNorm or a
// convolution is refused (nothing in signsweep takes one).
//
// On CUDA: the convolution and ReLU functions are device-agnostic ATen calls, and BatchNorm's closed form has
// CUDA kernels (batch_norm_kernel_cuda.cu, built where LibTorch is a CUDA build), but none of it has run on a
// GPU yet; CUDA devices keep LibTorch's double backwards unless SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda, which
// scripts/gpu_check.sh sets to test and measure them (#34 decides the default from that run).
#pragma once

#include <torch/torch.h>

namespace signsweep::workers {

// Makes BatchNorm and ReLU on this thread use these double backwards while it lives (when `enable`);
// scopes nest and restore what they found. Thread-local like LibTorch's own GradMode: a model's
// forward runs on the thread that trains it.
class DoubleBackwardScope {
 public:
  explicit DoubleBackwardScope(bool enable);
  ~DoubleBackwardScope();
  DoubleBackwardScope(const DoubleBackwardScope&) = delete;
  DoubleBackwardScope& operator=(const DoubleBackwardScope&) = delete;
  static bool active();

 private:
  bool previous_;
};

// Whether ops on `device` take these double backwards inside a scope, from SIGNSWEEP_FUSED_DOUBLE_BACKWARD:
// unset (or any other value) the CPU only; "cuda" the CPU and CUDA devices (where cuda_kernels_built());
// "0" nowhere (LibTorch's everywhere, for comparison).
bool own_double_backward_on(const c10::Device& device);
// Whether this build has the CUDA kernels of BatchNorm's double backward (LibTorch is a CUDA build and nvcc
// was found at configuration).
bool cuda_kernels_built();

// bn(x), through the fused function where the scope allows it (training mode, CPU, affine, running
// statistics with a fixed momentum), else BatchNorm2dImpl::forward. Both update the running statistics and
// num_batches_tracked the same way.
torch::Tensor scoped_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

// conv2d(x, weight, bias) with groups 1 and dilation 1, through the function whose double backward computes
// each part with convolution and convolution_backward where the scope allows it.
torch::Tensor scoped_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t stride, int64_t pad_h, int64_t pad_w);

// relu(x), through the function whose double backward has no zero term where the scope allows it.
torch::Tensor scoped_relu(const torch::Tensor& x);

// Training-mode batch norm whose backward is twice differentiable with the fused double backward (CPU or
// CUDA tensors). Updates running_mean/var in place.
torch::Tensor fused_batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                     const torch::Tensor& running_mean, const torch::Tensor& running_var,
                                     double momentum, double eps);

// The double backward itself: given the first backward's inputs (dy, x, weight, the saved mean and invstd)
// and the gradients flowing into its outputs (gx for dx, gw for dgamma, gb for dbeta; each may be undefined
// = zero), returns the gradients for dy, x and weight. NCHW-contiguous or channels-last 4-d tensors (others
// are made contiguous), float or double, on the CPU or (cuda_kernels_built()) a CUDA device.
struct BatchNormDoubleBackward {
  torch::Tensor grad_dy, grad_x, grad_weight;
};
BatchNormDoubleBackward batch_norm_double_backward(const torch::Tensor& dy, const torch::Tensor& x,
                                                   const torch::Tensor& weight, const torch::Tensor& mean,
                                                   const torch::Tensor& invstd, const torch::Tensor& gx,
                                                   const torch::Tensor& gw, const torch::Tensor& gb);

}  // namespace signsweep::workers
