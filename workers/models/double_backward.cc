#include "workers/models/double_backward.h"

#include <ATen/Parallel.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/errors.h"
#include "workers/models/batch_norm_kernel.h"

#if defined(SIGNSWEEP_WITH_CUDA_KERNELS)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "workers/models/batch_norm_kernel_cuda.h"
#endif

namespace signsweep::workers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

thread_local bool double_backward_scope_active = false;

// Whether an op on `x` takes signsweep's double backward here: inside a scope, recording a graph, on a device
// that takes them (own_double_backward_on).
bool takes_own_double_backward(const torch::Tensor& x) {
  return DoubleBackwardScope::active() && torch::GradMode::is_enabled() && own_double_backward_on(x.device());
}

enum class DoubleBackwardMode { kOff, kCpu, kCpuAndCuda };

DoubleBackwardMode double_backward_mode() {
  static const DoubleBackwardMode mode = [] {
    const char* v = std::getenv("SIGNSWEEP_FUSED_DOUBLE_BACKWARD");
    if (v != nullptr && std::strcmp(v, "0") == 0) return DoubleBackwardMode::kOff;
    if (v != nullptr && std::strcmp(v, "cuda") == 0) return DoubleBackwardMode::kCpuAndCuda;
    return DoubleBackwardMode::kCpu;
  }();
  return mode;
}

// The three gradients (gI, gW, gb) in that order, undefined where not `needed`, from the needed ones in order
// (a custom function's outputs must be defined tensors, so only those are its outputs).
variable_list spread(const variable_list& compact, const std::array<bool, 3>& needed) {
  variable_list full(3);
  size_t next = 0;
  for (size_t i = 0; i < 3; ++i)
    if (needed[i] && next < compact.size()) full[i] = compact[next++];
  return full;
}

// Per-channel values as doubles (undefined = zeros).
std::vector<double> channel_values(const torch::Tensor& t, int64_t channels) {
  if (!t.defined()) return std::vector<double>(static_cast<size_t>(channels), 0.0);
  const torch::Tensor d = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + channels};
}

struct ChannelInputs {
  std::vector<double> mean, invstd, gamma, gw, gb;
};

template <typename T>
void double_backward_nchw(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& gx,
                          const ChannelInputs& in, torch::Tensor& grad_x, torch::Tensor& grad_dy,
                          std::vector<double>& grad_weight) {
  const int64_t images = x.size(0), channels = x.size(1), run = x.numel() / (images * channels);
  const double count = static_cast<double>(images * run);
  const T* p_dy = dy.data_ptr<T>();
  const T* p_x = x.data_ptr<T>();
  const T* p_gx = gx.data_ptr<T>();
  T* p_grad_x = grad_x.data_ptr<T>();
  T* p_grad_dy = grad_dy.data_ptr<T>();
  at::parallel_for(0, channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const auto u = static_cast<size_t>(c);
      bn_kernel::ChannelSums sums;
      for (int64_t n = 0; n < images; ++n) {
        const int64_t o = (n * channels + c) * run;
        bn_kernel::accumulate_run(p_dy + o, p_x + o, p_gx + o, run, in.mean[u], in.invstd[u], sums);
      }
      const bn_kernel::Coefficients k =
          bn_kernel::coefficients(sums, count, in.gamma[u], in.invstd[u], in.gw[u], in.gb[u]);
      for (int64_t n = 0; n < images; ++n) {
        const int64_t o = (n * channels + c) * run;
        bn_kernel::apply_run(p_dy + o, p_x + o, p_gx + o, run, in.mean[u], in.invstd[u], k, p_grad_x + o,
                             p_grad_dy + o);
      }
      grad_weight[u] = k.grad_weight;
    }
  });
}

// Channels-last: a row is one pixel's `channels` values. The sums are taken over the rows in one chunk per
// thread, then added up; the outputs are written row by row.
template <typename T>
void double_backward_channels_last(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& gx,
                                   const ChannelInputs& in, torch::Tensor& grad_x, torch::Tensor& grad_dy,
                                   std::vector<double>& grad_weight) {
  const int64_t channels = x.size(1), rows = x.numel() / channels;
  const T* p_dy = dy.data_ptr<T>();
  const T* p_x = x.data_ptr<T>();
  const T* p_gx = gx.data_ptr<T>();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows));
  const int64_t per_chunk = (rows + chunks - 1) / chunks;
  std::vector<double> partial(static_cast<size_t>(chunks * 5 * channels), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t chunk = begin; chunk < end; ++chunk)
      bn_kernel::accumulate_rows(p_dy, p_x, p_gx, chunk * per_chunk, std::min(rows, (chunk + 1) * per_chunk),
                                 channels, in.mean.data(), in.invstd.data(), partial.data() + chunk * 5 * channels);
  });
  std::vector<T> k(static_cast<size_t>(9 * channels));
  for (int64_t c = 0; c < channels; ++c) {
    bn_kernel::ChannelSums sums;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const double* p = partial.data() + chunk * 5 * channels + c;
      sums.dy += p[0];
      sums.dy_xhat += p[channels];
      sums.gx += p[2 * channels];
      sums.gx_xhat += p[3 * channels];
      sums.gx_dy += p[4 * channels];
    }
    const auto u = static_cast<size_t>(c);
    const bn_kernel::Coefficients co =
        bn_kernel::coefficients(sums, static_cast<double>(rows), in.gamma[u], in.invstd[u], in.gw[u], in.gb[u]);
    const double values[9] = {in.mean[u], in.invstd[u], co.x_xhat, co.x_dy, co.x_gx, co.x_c, co.dy_gx, co.dy_xhat,
                              co.dy_c};
    for (int64_t i = 0; i < 9; ++i) k[static_cast<size_t>(i * channels + c)] = static_cast<T>(values[i]);
    grad_weight[u] = co.grad_weight;
  }
  T* p_grad_x = grad_x.data_ptr<T>();
  T* p_grad_dy = grad_dy.data_ptr<T>();
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    bn_kernel::apply_rows(p_dy, p_x, p_gx, begin, end, channels, k.data(), p_grad_x, p_grad_dy);
  });
}

// The backward of training-mode BatchNorm as a function of (dy, x, weight): LibTorch's fused first
// backward, and the closed-form double backward as its own backward.
struct BatchNormBackwardFunction : public torch::autograd::Function<BatchNormBackwardFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& dy, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& mean, const torch::Tensor& invstd,
                               double eps) {
    auto [dx, dw, db] = at::native_batch_norm_backward(dy, x, weight, torch::Tensor(), torch::Tensor(), mean, invstd,
                                                       /*train=*/true, eps, {true, true, true});
    ctx->save_for_backward({dy, x, weight, mean, invstd});
    ctx->set_materialize_grads(false);  // an absent gradient stays absent: no tensors of zeros
    return {dx, dw, db};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (torch::GradMode::is_enabled())
      throw Error("signsweep's fused BatchNorm is differentiable twice, not three times (set "
                  "SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0 for LibTorch's BatchNorm)");
    if (!grads[0].defined() && !grads[1].defined() && !grads[2].defined()) return variable_list(6);
    const variable_list saved = ctx->get_saved_variables();
    const BatchNormDoubleBackward g =
        batch_norm_double_backward(saved[0], saved[1], saved[2], saved[3], saved[4], grads[0], grads[1], grads[2]);
    return {g.grad_dy, g.grad_x, g.grad_weight, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct BatchNormTrainFunction : public torch::autograd::Function<BatchNormTrainFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& running_mean,
                               const torch::Tensor& running_var, double momentum, double eps) {
    auto [y, mean, invstd] =
        at::native_batch_norm(x, weight, bias, running_mean, running_var, /*training=*/true, momentum, eps);
    ctx->save_for_backward({x, weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    ctx->saved_data["eps"] = eps;
    ctx->set_materialize_grads(false);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (!grads[0].defined()) return variable_list(7);
    const variable_list saved = ctx->get_saved_variables();
    const variable_list g =
        BatchNormBackwardFunction::apply(grads[0], saved[0], saved[1], ctx->saved_data["mean"].toTensor(),
                                         ctx->saved_data["invstd"].toTensor(), ctx->saved_data["eps"].toDouble());
    return {g[0], g[1], g[2], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// relu's backward as a function of (dy, y): threshold_backward, whose own backward is threshold_backward again
// for dy and zero (absent, not a tensor of zeros) for y.
struct ReluBackwardFunction : public torch::autograd::Function<ReluBackwardFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& dy, const torch::Tensor& y) {
    ctx->save_for_backward({y});
    ctx->set_materialize_grads(false);
    return at::threshold_backward(dy, y, 0);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (!grads[0].defined()) return variable_list(2);
    const torch::Tensor y = ctx->get_saved_variables()[0];
    return {at::threshold_backward(grads[0], y, 0), torch::Tensor()};
  }
};

struct ReluFunction : public torch::autograd::Function<ReluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    torch::Tensor y = torch::relu(x);
    ctx->save_for_backward({y});
    ctx->set_materialize_grads(false);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (!grads[0].defined()) return variable_list(1);
    return {ReluBackwardFunction::apply(grads[0], ctx->get_saved_variables()[0])};
  }
};

// A 2-d convolution (groups 1, dilation 1) as a function of (gO, x, w): LibTorch's convolution_backward,
// computing only the outputs the graph needs, and its double backward from the same kernels. LibTorch's own
// double backward computes the weight gradient of <ggI, gI> as a convolution of transposed activations
// (copied to be contiguous, with the feature map as the kernel); here it is convolution_backward's weight
// gradient with ggI as the input, the kernel the forward uses.
struct ConvBackwardFunction : public torch::autograd::Function<ConvBackwardFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& grad_out, const torch::Tensor& x,
                               const torch::Tensor& w, int64_t stride, int64_t pad_h, int64_t pad_w, bool need_x,
                               bool need_w, bool need_b) {
    const std::vector<int64_t> bias_sizes{w.size(0)};
    auto [gi, gw, gb] = at::convolution_backward(grad_out, x, w, bias_sizes, {stride, stride}, {pad_h, pad_w}, {1, 1},
                                                 false, {0, 0}, 1, {need_x, need_w, need_b});
    ctx->save_for_backward({grad_out, x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["pad_h"] = pad_h;
    ctx->saved_data["pad_w"] = pad_w;
    ctx->saved_data["need_x"] = need_x;
    ctx->saved_data["need_w"] = need_w;
    ctx->saved_data["need_b"] = need_b;
    ctx->set_materialize_grads(false);
    variable_list out;  // only the outputs asked for (spread())
    for (const torch::Tensor& t : {gi, gw, gb})
      if (t.defined()) out.push_back(t);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list compact_grads) {
    if (torch::GradMode::is_enabled())
      throw Error("signsweep's convolution double backward is differentiable twice, not three times (set "
                  "SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0 for LibTorch's)");
    const variable_list grads =
        spread(compact_grads, {ctx->saved_data["need_x"].toBool(), ctx->saved_data["need_w"].toBool(),
                               ctx->saved_data["need_b"].toBool()});
    const torch::Tensor &ggi = grads[0], &ggw = grads[1], &ggb = grads[2];
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &grad_out = saved[0], &x = saved[1], &w = saved[2];
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const std::vector<int64_t> strides{stride, stride},
        padding{ctx->saved_data["pad_h"].toInt(), ctx->saved_data["pad_w"].toInt()};
    auto conv = [&](const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias) {
      return at::convolution(input, weight, bias, strides, padding, {1, 1}, false, {0, 0}, 1);
    };
    torch::Tensor g_out, g_x, g_w;
    if (ctx->needs_input_grad(0)) {  // gI, gW and gb are linear in gO: their adjoints
      if (ggi.defined()) g_out = conv(ggi, w, ggb);
      if (ggw.defined()) g_out = g_out.defined() ? g_out + conv(x, ggw, torch::Tensor()) : conv(x, ggw, torch::Tensor());
      if (!g_out.defined() && ggb.defined()) g_out = ggb.view({1, -1, 1, 1}).expand(grad_out.sizes()).contiguous();
    }
    if (ggw.defined() && ctx->needs_input_grad(1))  // d<ggW, gW(x, gO)>/dx: the input gradient of conv(x, ggW)
      g_x = std::get<0>(at::convolution_backward(grad_out, x, ggw, c10::nullopt, strides, padding, {1, 1}, false, {0, 0},
                                                 1, {true, false, false}));
    if (ggi.defined() && ctx->needs_input_grad(2))  // d<ggI, gI(w, gO)>/dw: the weight gradient with ggI as input
      g_w = std::get<1>(at::convolution_backward(grad_out, ggi, w, c10::nullopt, strides, padding, {1, 1}, false, {0, 0},
                                                 1, {false, true, false}));
    return {g_out, g_x, g_w, torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct ConvFunction : public torch::autograd::Function<ConvFunction> {
  // The bias is optional: an undefined tensor is not a valid input of a custom function.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const c10::optional<torch::Tensor>& b, int64_t stride, int64_t pad_h, int64_t pad_w) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["pad_h"] = pad_h;
    ctx->saved_data["pad_w"] = pad_w;
    ctx->saved_data["has_bias"] = b.has_value() && b->defined();
    ctx->set_materialize_grads(false);
    return at::convolution(x, w, b, {stride, stride}, {pad_h, pad_w}, {1, 1}, false, {0, 0}, 1);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (!grads[0].defined()) return variable_list(6);
    const variable_list saved = ctx->get_saved_variables();
    const bool need_x = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1),
               need_b = ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2);
    if (!need_x && !need_w && !need_b) return variable_list(6);
    const variable_list g = spread(
        ConvBackwardFunction::apply(grads[0], saved[0], saved[1], ctx->saved_data["stride"].toInt(),
                                    ctx->saved_data["pad_h"].toInt(), ctx->saved_data["pad_w"].toInt(), need_x, need_w,
                                    need_b),
        {need_x, need_w, need_b});
    return {g[0], g[1], g[2], torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// dy, x and gx in one dense layout, x's (channels-last when x is, else NCHW-contiguous), detached; an absent gx
// stays undefined.
struct DenseInputs {
  bool channels_last = false;
  torch::Tensor dy, x, gx;
};

DenseInputs dense_inputs(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& gx) {
  DenseInputs in;
  in.channels_last = x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::MemoryFormat format = in.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  in.x = x.detach().contiguous(format);
  in.dy = dy.detach().contiguous(format);
  if (gx.defined()) in.gx = gx.detach().contiguous(format);
  return in;
}

// The CUDA kernels (batch_norm_kernel_cuda.h) on the tensors' device and its current stream; the per-channel
// inputs are gathered on the device, so nothing waits for the GPU.
BatchNormDoubleBackward cuda_batch_norm_double_backward(const torch::Tensor& dy, const torch::Tensor& x,
                                                        const torch::Tensor& weight, const torch::Tensor& mean,
                                                        const torch::Tensor& invstd, const torch::Tensor& gx,
                                                        const torch::Tensor& gw, const torch::Tensor& gb) {
#if defined(SIGNSWEEP_WITH_CUDA_KERNELS)
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t channels = x.size(1);
  const DenseInputs dense = dense_inputs(dy, x, gx);
  const torch::Tensor &x_ = dense.x, &dy_ = dense.dy, &gx_ = dense.gx;
  const auto doubles = x_.options().dtype(torch::kFloat64);
  const auto per_channel = [&](const torch::Tensor& t) {
    return t.defined() ? t.detach().reshape({channels}).to(doubles) : torch::zeros({channels}, doubles);
  };
  const torch::Tensor inputs =
      torch::stack({per_channel(mean), per_channel(invstd), per_channel(weight), per_channel(gw), per_channel(gb)})
          .contiguous();
  torch::Tensor workspace = torch::empty({bn_kernel_cuda::workspace_doubles(channels)}, doubles);
  torch::Tensor grad_weight = torch::empty({channels}, doubles);
  torch::Tensor grad_x = torch::empty_like(x_);
  torch::Tensor grad_dy = torch::empty_like(x_);
  const bn_kernel_cuda::Shape shape{x_.size(0), channels, x_.numel() / std::max<int64_t>(1, x_.size(0) * channels),
                                    dense.channels_last};
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
  AT_DISPATCH_FLOATING_TYPES(x_.scalar_type(), "cuda_batch_norm_double_backward", [&] {
    bn_kernel_cuda::double_backward(dy_.data_ptr<scalar_t>(), x_.data_ptr<scalar_t>(),
                                    gx_.defined() ? gx_.data_ptr<scalar_t>() : nullptr, shape,
                                    inputs.data_ptr<double>(), workspace.data_ptr<double>(),
                                    grad_x.data_ptr<scalar_t>(), grad_dy.data_ptr<scalar_t>(),
                                    grad_weight.data_ptr<double>(), stream);
  });
  return {grad_dy, grad_x, grad_weight.to(weight.options())};
#else
  (void)dy, (void)weight, (void)mean, (void)invstd, (void)gx, (void)gw, (void)gb;
  throw Error("this build of signsweep has no CUDA kernels for the fused BatchNorm double backward (" +
              x.device().str() + " tensors keep LibTorch's)");
#endif
}

}  // namespace

torch::Tensor scoped_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t stride, int64_t pad_h, int64_t pad_w) {
  if (!takes_own_double_backward(x))
    return torch::conv2d(x, weight, bias, {stride, stride}, {pad_h, pad_w});
  const c10::optional<torch::Tensor> b = bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt;
  return ConvFunction::apply(x, weight, b, stride, pad_h, pad_w);
}

torch::Tensor scoped_relu(const torch::Tensor& x) {
  if (!takes_own_double_backward(x)) return torch::relu(x);
  return ReluFunction::apply(x);
}

DoubleBackwardScope::DoubleBackwardScope(bool enable) : previous_(double_backward_scope_active) {
  double_backward_scope_active = enable && double_backward_mode() != DoubleBackwardMode::kOff;
}

DoubleBackwardScope::~DoubleBackwardScope() { double_backward_scope_active = previous_; }

bool DoubleBackwardScope::active() { return double_backward_scope_active; }

bool own_double_backward_on(const c10::Device& device) {
  switch (double_backward_mode()) {
    case DoubleBackwardMode::kOff: return false;
    case DoubleBackwardMode::kCpu: return device.is_cpu();
    case DoubleBackwardMode::kCpuAndCuda: return device.is_cpu() || (device.is_cuda() && cuda_kernels_built());
  }
  return false;
}

bool cuda_kernels_built() {
#if defined(SIGNSWEEP_WITH_CUDA_KERNELS)
  return true;
#else
  return false;
#endif
}

torch::Tensor scoped_batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  const auto& o = bn.options;
  const bool fused = takes_own_double_backward(x) && bn.is_training() && x.dim() == 4 &&
                     (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) && o.affine() &&
                     o.track_running_stats() && o.momentum().has_value() && bn.num_batches_tracked.defined();
  if (!fused) return bn.forward(x);
  {
    const torch::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;  // as BatchNormImpl::forward counts
  }
  return fused_batch_norm_train(x, bn.weight, bn.bias, bn.running_mean, bn.running_var, o.momentum().value(),
                                o.eps());
}

torch::Tensor fused_batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                     const torch::Tensor& running_mean, const torch::Tensor& running_var,
                                     double momentum, double eps) {
  return BatchNormTrainFunction::apply(x, weight, bias, running_mean, running_var, momentum, eps);
}

BatchNormDoubleBackward batch_norm_double_backward(const torch::Tensor& dy, const torch::Tensor& x,
                                                   const torch::Tensor& weight, const torch::Tensor& mean,
                                                   const torch::Tensor& invstd, const torch::Tensor& gx,
                                                   const torch::Tensor& gw, const torch::Tensor& gb) {
  if (x.device().is_cuda()) return cuda_batch_norm_double_backward(dy, x, weight, mean, invstd, gx, gw, gb);
  if (!x.device().is_cpu())
    throw Error("the fused BatchNorm double backward runs on the CPU and CUDA; " + x.device().str() +
                " tensors keep LibTorch's");
  const int64_t channels = x.size(1);
  const DenseInputs dense = dense_inputs(dy, x, gx);
  const torch::Tensor &x_ = dense.x, &dy_ = dense.dy;
  const torch::Tensor gx_ = dense.gx.defined() ? dense.gx : torch::zeros_like(x_);  // the CPU loops read gx
  const ChannelInputs in{channel_values(mean, channels), channel_values(invstd, channels),
                         channel_values(weight, channels), channel_values(gw, channels), channel_values(gb, channels)};
  torch::Tensor grad_x = torch::empty_like(x_);
  torch::Tensor grad_dy = torch::empty_like(x_);
  std::vector<double> grad_weight(static_cast<size_t>(channels));
  AT_DISPATCH_FLOATING_TYPES(x_.scalar_type(), "batch_norm_double_backward", [&] {
    if (dense.channels_last)
      double_backward_channels_last<scalar_t>(dy_, x_, gx_, in, grad_x, grad_dy, grad_weight);
    else
      double_backward_nchw<scalar_t>(dy_, x_, gx_, in, grad_x, grad_dy, grad_weight);
  });
  const torch::Tensor grad_w =
      torch::tensor(torch::ArrayRef<double>(grad_weight), torch::kFloat64).to(weight.options());
  return {grad_dy, grad_x, grad_w};
}

}  // namespace signsweep::workers
