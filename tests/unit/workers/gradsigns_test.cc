#include "workers/gradsigns/gradsigns.h"

#include <gtest/gtest.h>

#include "tests/support/readings.h"

#include <cstdio>

#include <fmt/format.h>

#include "workers/data/loaders.h"
#include "workers/models/classifier.h"

namespace signsweep::workers {
namespace {

struct Fixture {
  ImageShape shape{2, 6, 6};
  Classifier model;
  torch::Tensor x, y;
  WatermarkSecrets secrets;
};

Fixture double_precision_fixture(bool batch_norm) {
  torch::manual_seed(3);
  Fixture f;
  f.model = build_model(ModelSpec{"small-cnn", batch_norm, 3}, f.shape, 4);
  f.model->to(torch::kFloat64);
  f.model->train();
  f.x = torch::randn({6, 2, 6, 6}, torch::kFloat64);
  f.y = torch::tensor({0, 1, 0, 2, 3, 0}, torch::kInt64);
  f.secrets = generate_secrets(5, 7, 0, f.shape, 4, FlattenOrder::kNhwc, 1);
  return f;
}

// The regularizer as a function of the parameters (fresh graph each call).
torch::Tensor regularizer_value(Fixture& f, const GradSigns& gs) {
  const torch::Tensor x = f.x.detach().clone().requires_grad_(true);
  const torch::Tensor ce = torch::cross_entropy_loss(f.model->forward(x), f.y, {}, at::Reduction::Sum);
  return gs.regularizer(x, f.y, ce);
}

void check_gradient_against_finite_differences(bool batch_norm) {
  Fixture f = double_precision_fixture(batch_norm);
  const GradSigns gs(f.secrets, f.shape, 1.0);
  f.model->zero_grad();
  regularizer_value(f, gs).to(torch::kFloat64).backward();
  const double eps = 1e-6;
  double max_rel = 0.0;
  int checked = 0;
  std::string worst;
  for (auto& item : f.model->named_parameters()) {
    torch::Tensor p = item.value();
    const torch::Tensor analytic = p.grad().clone();
    const torch::NoGradGuard no_grad;
    for (int64_t k = 0; k < std::min<int64_t>(p.numel(), 6); ++k) {
      const int64_t i = (k * 7919) % p.numel();
      auto flat = p.view({-1});
      const double orig = flat[i].item<double>();
      flat[i] = orig + eps;
      double plus, minus;
      {
        const torch::AutoGradMode enable(true);
        plus = regularizer_value(f, gs).item<double>();
      }
      flat[i] = orig - eps;
      {
        const torch::AutoGradMode enable(true);
        minus = regularizer_value(f, gs).item<double>();
      }
      flat[i] = orig;
      const double numeric = (plus - minus) / (2 * eps);
      const double a = analytic.view({-1})[i].item<double>();
      // Relative error, except where the true gradient is 0 (a bias feeding BatchNorm): there central
      // differences at eps 1e-6 leave ~1e-10 of rounding noise, accepted as an absolute error.
      const double abs_err = std::abs(a - numeric);
      EXPECT_TRUE(abs_err <= 1e-5 * (std::abs(a) + std::abs(numeric)) + 1e-9) << item.key() << "[" << i << "]: " << a << " vs " << numeric;
      if (std::abs(a) + std::abs(numeric) < 1e-7) continue;
      const double rel = abs_err / (std::abs(a) + std::abs(numeric));
      if (rel > max_rel) worst = fmt::format("{}[{}]: analytic {:.10g} numeric {:.10g}", item.key(), i, a, numeric);
      max_rel = std::max(max_rel, rel);
      ++checked;
    }
  }
  std::printf("regularizer gradient vs central differences (batch_norm=%d): %d entries, max rel diff %.3g (%s)\n",
              batch_norm, checked, max_rel, worst.c_str());
  EXPECT_GT(checked, 20);
  EXPECT_LT(max_rel, 1e-5);  // over entries with a gradient above 1e-7
}

TEST(GradSignsTest, regularizer_parameter_gradient_matches_central_differences) {
  check_gradient_against_finite_differences(false);
}

TEST(GradSignsTest, regularizer_gradient_matches_with_batch_norm_in_train_mode) {
  check_gradient_against_finite_differences(true);
}

TEST(GradSignsTest, regularizer_is_bce_of_the_projected_mean_target_gradient) {
  Fixture f = double_precision_fixture(false);
  const GradSigns gs(f.secrets, f.shape, 1.0);
  // By hand: d(sum CE)/dx, mean over rows with label 0 (rows 0, 2, 5), NHWC flatten, carriers, K, BCE.
  const torch::Tensor x = f.x.detach().clone().requires_grad_(true);
  const torch::Tensor ce = torch::cross_entropy_loss(f.model->forward(x), f.y, {}, at::Reduction::Sum);
  const torch::Tensor g = torch::autograd::grad({ce}, {x}, {}, true)[0];
  const torch::Tensor mean = (g[0] + g[2] + g[5]) / 3.0;
  const torch::Tensor nhwc = mean.permute({1, 2, 0}).reshape({-1});
  const torch::Tensor carriers = nhwc.index_select(0, torch::tensor(f.secrets.carriers));
  const torch::Tensor key = torch::tensor(f.secrets.key).reshape({5, 7}).to(torch::kFloat64);
  const torch::Tensor p = torch::sigmoid(key.mv(carriers));
  const torch::Tensor b = torch::tensor(f.secrets.signature).to(torch::kFloat64);
  const double expected = -(b * p.log() + (1 - b) * (1 - p).log()).mean().item<double>();
  EXPECT_NEAR(gs.regularizer(x, f.y, ce).item<double>(), expected, 1e-12);
}

TEST(GradSignsTest, no_target_image_in_batch_gives_zero_term) {
  Fixture f = double_precision_fixture(false);
  const GradSigns gs(f.secrets, f.shape, 1.0);
  const torch::Tensor y = torch::tensor({1, 1, 2, 2, 3, 3}, torch::kInt64);
  const torch::Tensor x = f.x.detach().clone().requires_grad_(true);
  const torch::Tensor ce = torch::cross_entropy_loss(f.model->forward(x), y, {}, at::Reduction::Sum);
  EXPECT_EQ(gs.regularizer(x, y, ce).item<double>(), 0.0);
}

TEST(GradSignsTest, remote_finite_differences_read_the_white_box_gradient) {
  torch::manual_seed(4);
  const ImageShape shape{1, 8, 8};
  const Classifier model = build_model(ModelSpec{"small-cnn", true, 4}, shape, 3);
  model->eval();
  const auto secrets = generate_secrets(16, 20, 1, shape, 3, FlattenOrder::kNhwc, 2);
  const GradSigns gs(secrets, shape, 1.0);
  const torch::Tensor images = torch::randn({5, 1, 8, 8});
  const Extraction white = extract_white_box(*model, gs, images, 5, 1, 0);
  PredictionApi api(*model, torch::kFloat64);
  const Extraction remote = extract_remote(api, gs, images, 1e-6, /*batch=*/50);
  EXPECT_EQ(api.queries(), (20 + 1) * 5);
  EXPECT_TRUE(torch::allclose(remote.logits.to(torch::kFloat64), white.logits.to(torch::kFloat64), 1e-3, 1e-6))
      << remote.logits << white.logits;
  // Untrained: some projections sit near zero, where float rounding decides the bit.
  EXPECT_EQ(testing::disagreements_beyond_margin(remote.logits, white.logits, 0.01), 0) << remote.logits << white.logits;
}

TEST(GradSignsTest, prediction_api_postprocess_sees_every_answer) {
  torch::manual_seed(5);
  const Classifier model = build_model(ModelSpec{"small-cnn", false, 4}, ImageShape{1, 8, 8}, 3);
  PredictionApi api(*model);
  int calls = 0;
  api.postprocess = [&](const torch::Tensor& p) {
    ++calls;
    return torch::round(p * 100) / 100;
  };
  const torch::Tensor p = api.probabilities(torch::randn({4, 1, 8, 8}));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(torch::allclose(p, torch::round(p * 100) / 100));
  EXPECT_EQ(api.queries(), 4);
}

}  // namespace
}  // namespace signsweep::workers
