#include "workers/attacks/basic_attacks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "common/errors.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

TEST(QuantizationTest, matches_the_formula_on_a_hand_example) {
  // 3 bits: step = max|w| / (2^2 - 1) = 0.9 / 3 = 0.3
  const torch::Tensor w = torch::tensor({0.9, -0.44, 0.16, 0.0, -0.9}, torch::kFloat64);
  const torch::Tensor q = quantize_tensor(w, 3);
  const torch::Tensor expected = torch::tensor({0.9, -0.3, 0.3, 0.0, -0.9}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(q, expected, 0, 1e-12)) << q;
  EXPECT_THROW(quantize_tensor(w, 1), ConfigError);
}

// A small CNN with non-trivial running statistics.
Classifier small_cnn_with_statistics() {
  torch::manual_seed(0);
  const Classifier m = build_model(ModelSpec{"small-cnn", true, 8}, ImageShape{1, 8, 8}, 3);
  m->train();
  m->forward(torch::randn({16, 1, 8, 8}));
  return m;
}

TEST(QuantizationTest, reference_puts_every_array_of_a_layer_on_the_layers_one_step_bn_statistics_included) {
  for (const int64_t bits : {2, 4, 8}) {
    const Classifier m = small_cnn_with_statistics();
    torch::Tensor var_before = m->named_buffers()["bn1.running_var"].clone();
    std::map<std::string, torch::Tensor> bn1;  // bn1's arrays before, to find the layer's largest magnitude
    for (const auto& p : m->named_parameters())
      if (p.key().rfind("bn1.", 0) == 0) bn1[p.key()] = p.value().detach().clone();
    bn1["bn1.running_var"] = var_before;
    bn1["bn1.running_mean"] = m->named_buffers()["bn1.running_mean"].clone();
    double max_abs = 0.0;
    for (const auto& [k, v] : bn1) max_abs = std::max(max_abs, v.abs().max().item<double>());
    const double step = max_abs / (std::pow(2.0, static_cast<double>(bits - 1)) - 1.0);
    quantize_model_(*m, bits, QuantizeVariant::kReference);
    for (const auto& p : m->named_parameters()) {
      const auto values = std::get<0>(at::_unique(p.value().flatten()));
      EXPECT_LE(values.numel(), 1 << bits) << p.key();
    }
    // One step for the whole layer: every array of bn1 is a multiple of the step taken over all of them.
    for (const auto& name : {"bn1.weight", "bn1.bias"}) {
      const torch::Tensor q = m->named_parameters()[name].detach().to(torch::kFloat64) / step;
      EXPECT_LE((q - q.round()).abs().max().item<double>(), 1e-3) << name << " at " << bits << " bits";
    }
    const torch::Tensor v = m->named_buffers()["bn1.running_var"].to(torch::kFloat64) / step;
    EXPECT_LE((v - v.round()).abs().max().item<double>(), 1e-3);
    EXPECT_LE((m->named_buffers()["bn1.running_var"] - var_before).abs().max().item<double>(), step / 2 + 1e-6);
  }
}

TEST(QuantizationTest, weights_variant_quantizes_kernels_only_and_leaves_biases_and_batchnorm_alone) {
  const Classifier m = small_cnn_with_statistics();
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : m->named_parameters()) before[p.key()] = p.value().detach().clone();
  const torch::Tensor var_before = m->named_buffers()["bn1.running_var"].clone();
  quantize_model_(*m, 3, QuantizeVariant::kWeights);
  int64_t kernels = 0;
  for (const auto& p : m->named_parameters()) {
    if (p.value().dim() >= 2) {
      ++kernels;
      EXPECT_LE(std::get<0>(at::_unique(p.value().flatten())).numel(), 1 << 3) << p.key();
      EXPECT_TRUE(torch::equal(p.value(), quantize_tensor(before[p.key()], 3))) << p.key();
    } else {
      EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key() << " changed";
    }
  }
  EXPECT_GE(kernels, 2);
  EXPECT_TRUE(torch::equal(m->named_buffers()["bn1.running_var"], var_before));
  EXPECT_THROW(quantize_model_(*m, 1, QuantizeVariant::kWeights), ConfigError);
}

TEST(ScoreDefenceTest, rounding_leaves_at_most_d_decimals) {
  const auto round2 = score_rounding(2);
  const torch::Tensor p = torch::softmax(torch::randn({50, 10}, torch::kFloat64), 1);
  const torch::Tensor r = round2(p);
  EXPECT_TRUE(torch::allclose(r * 100, (r * 100).round(), 0, 1e-9));
  EXPECT_LE((r - p).abs().max().item<double>(), 0.005 + 1e-12);
  EXPECT_THROW(score_rounding(-1), ConfigError);
}

TEST(ScoreDefenceTest, perturbation_keeps_top1_and_top3_order_on_every_query) {
  const auto perturb = score_perturbation(7);
  const torch::Tensor p = torch::softmax(torch::randn({500, 10}, torch::kFloat64) * 3, 1);
  const torch::Tensor q = perturb(p);
  EXPECT_FALSE(torch::allclose(p, q));  // it does move probability
  EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({500}, torch::kFloat64)));
  const auto top3_p = std::get<1>(p.topk(3, 1)), top3_q = std::get<1>(q.topk(3, 1));
  EXPECT_TRUE(torch::equal(top3_p, top3_q));
  EXPECT_GE(q.min().item<double>(), 0.0);
}

TEST(InputNoiseTest, one_pattern_per_trial_clipped_in_pixel_space) {
  SyntheticSpec syn;
  syn.shape = {1, 4, 4};
  const RawDataset raw = make_synthetic(syn);
  const Dataset ds = prepare_dataset(raw, DatasetSpec{});
  const auto noise = input_noise(ds.normalizer, ds.shape, 0.1, 3);
  const torch::Tensor x = ds.test.images.narrow(0, 0, 8);
  const torch::Tensor added = ds.normalizer.to_pixels(noise(x)) - ds.normalizer.to_pixels(x);
  // Where no clipping happened, every image received exactly the same pattern.
  const torch::Tensor pixels = ds.normalizer.to_pixels(noise(x));
  EXPECT_GE(pixels.min().item<float>(), -1e-6);
  EXPECT_LE(pixels.max().item<float>(), 1 + 1e-6);
  const torch::Tensor unclipped = (pixels > 1e-6) & (pixels < 1 - 1e-6);
  const torch::Tensor reference = added[0].expand_as(added);
  EXPECT_TRUE(torch::allclose(added.masked_select(unclipped & unclipped[0].expand_as(unclipped)),
                              reference.masked_select(unclipped & unclipped[0].expand_as(unclipped)), 0, 1e-5));
  EXPECT_TRUE(torch::equal(noise(x), noise(x)));  // same trial, same pattern
  EXPECT_FALSE(torch::equal(input_noise(ds.normalizer, ds.shape, 0.1, 4)(x), noise(x)));
}

}  // namespace
}  // namespace signsweep::workers
