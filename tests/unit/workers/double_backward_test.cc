#include "workers/models/double_backward.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "workers/gradsigns/gradsigns.h"
#include "workers/models/classifier.h"

namespace signsweep::workers {
namespace {

struct Shape {
  int64_t n, c, h, w;
  bool channels_last;
  std::string str() const { return fmt::format("{}x{}x{}x{} {}", n, c, h, w, channels_last ? "channels-last" : "NCHW"); }
};

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(b.norm().item<double>(), 1e-300);
  return (a - b).norm().item<double>() / scale;
}

// One training-mode BatchNorm, fused or LibTorch's, and a scalar of its first derivatives:
// g = d<y, p>/d(x, gamma, beta) with a graph, then Q = <g_x, u> + <g_gamma, v> + <g_beta, q>.
struct SecondOrder {
  torch::Tensor y, running_mean, running_var;
  std::vector<torch::Tensor> first;   // d<y,p>/dx, /dgamma, /dbeta
  std::vector<torch::Tensor> second;  // dQ/dx, /dgamma, /dp
};

struct Inputs {
  torch::Tensor x, gamma, beta, p, u, v, q;
};

Inputs random_inputs(const Shape& s, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  const auto format = s.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const auto o = torch::TensorOptions().dtype(dtype);
  Inputs in;
  in.x = (torch::randn({s.n, s.c, s.h, s.w}, o) * 2.0 + 0.5).contiguous(format);
  in.gamma = torch::randn({s.c}, o);
  in.beta = torch::randn({s.c}, o);
  in.p = torch::randn({s.n, s.c, s.h, s.w}, o).contiguous(format);
  in.u = torch::randn({s.n, s.c, s.h, s.w}, o).contiguous(format);
  in.v = torch::randn({s.c}, o);
  in.q = torch::randn({s.c}, o);
  return in;
}

SecondOrder second_order(const Inputs& in, bool fused, bool create_graph_twice = false) {
  const torch::Tensor x = in.x.clone().requires_grad_(true);
  const torch::Tensor gamma = in.gamma.clone().requires_grad_(true);
  const torch::Tensor beta = in.beta.clone().requires_grad_(true);
  const torch::Tensor p = in.p.clone().requires_grad_(true);
  SecondOrder r;
  r.running_mean = torch::zeros({in.x.size(1)}, in.x.options());
  r.running_var = torch::ones({in.x.size(1)}, in.x.options());
  constexpr double kMomentum = 0.01, kEps = 1e-3;
  r.y = fused ? fused_batch_norm_train(x, gamma, beta, r.running_mean, r.running_var, kMomentum, kEps)
              : torch::batch_norm(x, gamma, beta, r.running_mean, r.running_var, true, kMomentum, kEps, false);
  r.first = torch::autograd::grad({(r.y * p).sum()}, {x, gamma, beta}, {}, true, true);
  const torch::Tensor q = (r.first[0] * in.u).sum() + (r.first[1] * in.v).sum() + (r.first[2] * in.q).sum();
  r.second = torch::autograd::grad({q}, {x, gamma, p}, {}, true, create_graph_twice);
  return r;
}

// Random shapes, each in both layouts; batches of 1 and 2 and single-pixel maps among them.
std::vector<Shape> random_shapes() {
  std::vector<Shape> shapes = {{1, 3, 4, 5, false}, {2, 4, 3, 3, false}, {1, 2, 1, 1, false}, {2, 3, 1, 1, false}};
  std::mt19937 rng(20261202);
  for (int i = 0; i < 8; ++i) {
    auto pick = [&](int lo, int hi) { return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
    shapes.push_back({pick(1, 5), pick(1, 9), pick(1, 7), pick(1, 7), false});
  }
  const size_t count = shapes.size();
  for (size_t i = 0; i < count; ++i) shapes.push_back({shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w, true});
  return shapes;
}

TEST(FusedDoubleBackward, BatchNormValuesAndBothDerivativesMatchLibTorchInDoublePrecision) {
  uint64_t seed = 1;
  for (const Shape& s : random_shapes()) {
    SCOPED_TRACE(s.str());
    const Inputs in = random_inputs(s, torch::kFloat64, seed++);
    const SecondOrder fused = second_order(in, true);
    const SecondOrder libtorch = second_order(in, false);
    EXPECT_LE(relative_difference(fused.y, libtorch.y), 1e-12);
    EXPECT_LE(relative_difference(fused.running_mean, libtorch.running_mean), 1e-12);
    // One value per channel has no unbiased variance: both write NaN into running_var then.
    EXPECT_TRUE(torch::allclose(fused.running_var, libtorch.running_var, 1e-12, 0.0, /*equal_nan=*/true));
    EXPECT_EQ(s.n * s.h * s.w == 1, fused.running_var.isnan().any().item<bool>());
    for (size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(fmt::format("derivative {}", i));
      EXPECT_LE(relative_difference(fused.first[i], libtorch.first[i]), 1e-12);
      EXPECT_LE(relative_difference(fused.second[i], libtorch.second[i]), 1e-10);
    }
  }
}

TEST(FusedDoubleBackward, BatchNormSecondDerivativesMatchFiniteDifferences) {
  for (const bool channels_last : {false, true}) {
    const Shape s{2, 3, 2, 3, channels_last};
    SCOPED_TRACE(s.str());
    Inputs in = random_inputs(s, torch::kFloat64, 7);
    const SecondOrder analytic = second_order(in, true);
    // Q as a function of one input, evaluated without graphs beyond what Q needs.
    auto q_value = [&](const Inputs& at) {
      const torch::Tensor x = at.x.clone().requires_grad_(true);
      const torch::Tensor gamma = at.gamma.clone().requires_grad_(true);
      const torch::Tensor beta = at.beta.clone().requires_grad_(true);
      torch::Tensor rm = torch::zeros({s.c}, torch::kFloat64), rv = torch::ones({s.c}, torch::kFloat64);
      const torch::Tensor y = fused_batch_norm_train(x, gamma, beta, rm, rv, 0.01, 1e-3);
      const auto g = torch::autograd::grad({(y * at.p).sum()}, {x, gamma, beta});
      return ((g[0] * at.u).sum() + (g[1] * at.v).sum() + (g[2] * at.q).sum()).item<double>();
    };
    const double h = 1e-6;
    torch::Tensor* targets[3] = {&in.x, &in.gamma, &in.p};
    int checked = 0;
    for (int which = 0; which < 3; ++which) {
      // Both walked in memory order (a channels-last tensor's storage is dense too).
      torch::Tensor flat = targets[which]->as_strided({targets[which]->numel()}, {1});
      const torch::Tensor expected = analytic.second[which].contiguous(targets[which]->suggest_memory_format());
      const torch::Tensor expected_flat = expected.as_strided({expected.numel()}, {1});
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const double original = flat[i].item<double>();
        flat[i] = original + h;
        const double plus = q_value(in);
        flat[i] = original - h;
        const double minus = q_value(in);
        flat[i] = original;
        const double numeric = (plus - minus) / (2 * h);
        const double value = expected_flat[i].item<double>();
        EXPECT_NEAR(value, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << "input " << which << " element " << i;
        ++checked;
      }
    }
    EXPECT_EQ(checked, 2 * 36 + 3);
  }
}

TEST(FusedDoubleBackward, BatchNormAThirdDerivativeIsRefused) {
  const Inputs in = random_inputs({2, 2, 2, 2, false}, torch::kFloat64, 3);
  try {
    second_order(in, true, /*create_graph_twice=*/true);
    FAIL() << "a third-order graph through the fused BatchNorm was built";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("differentiable twice"), std::string::npos) << e.what();
  }
}

TEST(FusedDoubleBackward, BatchNormModulesTakeItOnlyInsideTheScopeAndCountBatchesAsLibTorch) {
  torch::manual_seed(5);
  torch::nn::BatchNorm2d inside(torch::nn::BatchNorm2dOptions(3).eps(1e-3).momentum(0.01));
  torch::nn::BatchNorm2d outside(torch::nn::BatchNorm2dOptions(3).eps(1e-3).momentum(0.01));
  const torch::Tensor x = torch::randn({4, 3, 5, 5}).requires_grad_(true);
  torch::Tensor fused_y, plain_y;
  {
    const DoubleBackwardScope scope(true);
    ASSERT_TRUE(DoubleBackwardScope::active()) << "SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0 is set";
    fused_y = scoped_batch_norm(*inside, x);
    {
      const DoubleBackwardScope off(false);
      EXPECT_FALSE(DoubleBackwardScope::active());
    }
    EXPECT_TRUE(DoubleBackwardScope::active());
    outside->eval();
    EXPECT_EQ(scoped_batch_norm(*outside, x).grad_fn()->name().find("BatchNormTrainFunction"), std::string::npos)
        << "inference mode keeps LibTorch's BatchNorm";
    outside->train();
  }
  EXPECT_FALSE(DoubleBackwardScope::active());
  plain_y = scoped_batch_norm(*outside, x);
  EXPECT_NE(fused_y.grad_fn()->name().find("BatchNormTrainFunction"), std::string::npos) << fused_y.grad_fn()->name();
  EXPECT_EQ(plain_y.grad_fn()->name().find("BatchNormTrainFunction"), std::string::npos) << plain_y.grad_fn()->name();
  EXPECT_LE(relative_difference(fused_y, plain_y), 1e-6);
  EXPECT_LE(relative_difference(inside->running_mean, outside->running_mean), 1e-6);
  EXPECT_LE(relative_difference(inside->running_var, outside->running_var), 1e-6);
  EXPECT_EQ(inside->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_EQ(outside->num_batches_tracked.item<int64_t>(), 1);
}

TEST(FusedDoubleBackward, ConvolutionDerivativesMatchLibTorchInDoublePrecision) {
  struct Case {
    int64_t n, in, out, size, kernel, stride, pad;
    bool bias, channels_last;
  };
  for (const Case& c : {Case{2, 3, 4, 7, 3, 1, 1, true, false}, Case{1, 2, 5, 8, 3, 2, 1, true, false},
                        Case{3, 4, 2, 6, 1, 2, 0, false, false}, Case{2, 3, 4, 7, 3, 1, 1, true, true},
                        Case{2, 4, 3, 9, 3, 2, 0, true, true}}) {
    SCOPED_TRACE(fmt::format("{}x{}x{}x{} -> {} k{} s{} p{}{}{}", c.n, c.in, c.size, c.size, c.out, c.kernel, c.stride,
                             c.pad, c.bias ? " bias" : "", c.channels_last ? " channels-last" : ""));
    torch::manual_seed(c.n * 100 + c.out);
    const auto format = c.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const torch::Tensor x0 = torch::randn({c.n, c.in, c.size, c.size}, torch::kFloat64).contiguous(format);
    const torch::Tensor w0 = torch::randn({c.out, c.in, c.kernel, c.kernel}, torch::kFloat64);
    const torch::Tensor b0 = c.bias ? torch::randn({c.out}, torch::kFloat64) : torch::Tensor();
    const int64_t side = (c.size + 2 * c.pad - c.kernel) / c.stride + 1;
    const torch::Tensor p0 = torch::randn({c.n, c.out, side, side}, torch::kFloat64);
    const torch::Tensor u = torch::randn_like(x0), v = torch::randn_like(w0);
    auto derivatives = [&](bool scoped) {
      const DoubleBackwardScope scope(scoped);
      const torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
      const torch::Tensor p = p0.clone().requires_grad_(true);
      const torch::Tensor b = c.bias ? b0.clone().requires_grad_(true) : torch::Tensor();
      const torch::Tensor y = scoped_conv2d(x, w, b, c.stride, c.pad, c.pad);
      EXPECT_EQ(y.grad_fn()->name().find("ConvFunction") != std::string::npos, scoped) << y.grad_fn()->name();
      std::vector<torch::Tensor> wrt{x, w};
      if (c.bias) wrt.push_back(b);
      const auto first = torch::autograd::grad({(y * p * p).sum()}, wrt, {}, true, true);
      torch::Tensor q = (first[0] * u).sum() + (first[1] * v).sum();
      if (c.bias) q = q + (first[2] * first[2]).sum();
      const auto second = torch::autograd::grad({q}, {x, w, p});
      std::vector<torch::Tensor> all{y};
      all.insert(all.end(), first.begin(), first.end());
      all.insert(all.end(), second.begin(), second.end());
      return all;
    };
    const auto scoped = derivatives(true), libtorch = derivatives(false);
    ASSERT_EQ(scoped.size(), libtorch.size());
    for (size_t i = 0; i < scoped.size(); ++i) EXPECT_LE(relative_difference(scoped[i], libtorch[i]), 1e-12) << i;
  }
}

TEST(FusedDoubleBackward, ReluSecondDerivativesMatchLibTorchAndHaveNoZeroTerm) {
  torch::manual_seed(9);
  torch::Tensor x0 = torch::randn({3, 4, 5, 5}, torch::kFloat64);
  x0.view({-1}).narrow(0, 0, 7).zero_();  // relu's kink: both take the derivative there as 0
  const torch::Tensor p0 = torch::randn_like(x0), u = torch::randn_like(x0);
  auto derivatives = [&](bool scoped) {
    const DoubleBackwardScope scope(scoped);
    const torch::Tensor x = x0.clone().requires_grad_(true), p = p0.clone().requires_grad_(true);
    // y = relu(x)^2 so that the second derivative in x is not zero everywhere.
    const torch::Tensor r = scoped_relu(x);
    const torch::Tensor first = torch::autograd::grad({(r * r * p).sum()}, {x}, {}, true, true)[0];
    const auto second = torch::autograd::grad({(first * u).sum()}, {x, p});
    return std::vector<torch::Tensor>{r, first, second[0], second[1]};
  };
  const auto scoped = derivatives(true), libtorch = derivatives(false);
  for (size_t i = 0; i < scoped.size(); ++i) EXPECT_LE(relative_difference(scoped[i], libtorch[i]), 1e-14) << i;
  // d(relu'(x) * u)/dx is zero almost everywhere: LibTorch's double backward computes a tensor of zeros for
  // it, the scoped one computes nothing (an undefined gradient).
  for (const bool scoped_on : {true, false}) {
    const DoubleBackwardScope scope(scoped_on);
    const torch::Tensor x = x0.clone().requires_grad_(true);
    const torch::Tensor r = scoped_relu(x);
    EXPECT_EQ(r.grad_fn()->name().find("ReluFunction") != std::string::npos, scoped_on) << r.grad_fn()->name();
    const torch::Tensor g = torch::autograd::grad({(r * u).sum()}, {x}, {}, true, true)[0];
    const torch::Tensor gg = torch::autograd::grad({g.sum()}, {x}, {}, false, false, /*allow_unused=*/true)[0];
    EXPECT_EQ(gg.defined(), !scoped_on);
    if (gg.defined()) {
      EXPECT_EQ(gg.abs().max().item<double>(), 0.0);
    }
  }
}

// A GradSigns step's parameter gradients (cross-entropy plus the regularizer), fused against LibTorch's
// BatchNorm double backward.
// The regularizer alone is what the double backward computes; the whole step adds the cross-entropy's.
torch::Tensor gradsigns_step_gradient(ClassifierImpl& model, const GradSigns& gs, const torch::Tensor& x,
                                      const torch::Tensor& y, bool fused, bool with_cross_entropy) {
  const DoubleBackwardScope scope(fused);
  model.zero_grad();
  const torch::Tensor input = x.detach().clone().requires_grad_(true);
  const torch::Tensor ce = torch::cross_entropy_loss(model.forward(input), y, {}, at::Reduction::Sum);
  torch::Tensor loss = gs.lambda() * gs.regularizer(input, y, ce);
  if (with_cross_entropy) loss = loss + ce / static_cast<double>(x.size(0));
  torch::autograd::backward({loss}, {}, {}, false, model.parameters());
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : model.parameters())
    grads.push_back(p.grad().defined() ? p.grad().detach().reshape({-1}).clone() : torch::zeros({p.numel()}, p.options()));
  return torch::cat(grads);
}

TEST(FusedDoubleBackward, GradSignsStepParameterGradientsMatchTheUnfusedStep) {
  ASSERT_TRUE(own_double_backward_on(torch::kCPU)) << "SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0 is set";
  struct Case {
    const char* model;
    torch::ScalarType dtype;
    bool channels_last;
    double bound;
  };
  for (const Case& c : {Case{"resnet20", torch::kFloat32, false, 1e-5}, Case{"resnet20", torch::kFloat64, false, 1e-10},
                        Case{"small-cnn", torch::kFloat32, false, 1e-5}, Case{"small-cnn", torch::kFloat64, false, 1e-10},
                        Case{"resnet20", torch::kFloat32, true, 1e-5}, Case{"resnet20", torch::kFloat64, true, 1e-10}}) {
    SCOPED_TRACE(fmt::format("{} {} {}", c.model, c.dtype == torch::kFloat64 ? "double" : "float",
                             c.channels_last ? "channels-last" : "NCHW"));
    torch::manual_seed(11);
    const ImageShape shape{3, 8, 8};
    const Classifier model = build_model(ModelSpec{c.model, true, 4}, shape, 4);
    model->to(c.dtype);
    model->train();
    const auto format = c.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const torch::Tensor x = torch::randn({8, 3, 8, 8}, c.dtype).contiguous(format);
    const torch::Tensor y = torch::tensor({0, 1, 0, 2, 3, 0, 1, 0}, torch::kInt64);
    const GradSigns gs(generate_secrets(6, 9, 0, shape, 4, FlattenOrder::kNhwc, 2), shape, 0.3);
    for (const bool with_ce : {false, true}) {
      SCOPED_TRACE(with_ce ? "cross-entropy + lambda * regularizer" : "lambda * regularizer");
      const torch::Tensor unfused = gradsigns_step_gradient(*model, gs, x, y, false, with_ce);
      const torch::Tensor fused = gradsigns_step_gradient(*model, gs, x, y, true, with_ce);
      ASSERT_GT(unfused.norm().item<double>(), 0.0);
      EXPECT_LE(relative_difference(fused, unfused), c.bound);
    }
  }
}

}  // namespace
}  // namespace signsweep::workers
