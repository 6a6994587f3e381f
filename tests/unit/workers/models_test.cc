#include <gtest/gtest.h>

#include "common/config.h"
#include "workers/models/classifier.h"
#include "workers/models/resnet20.h"
#include "workers/registry.h"

namespace signsweep::workers {
namespace {

TEST(ModelsTest, resnet20_has_the_keras_parameter_count) {
  // Keras ResNet-20 v1 (CIFAR-10): 273,066 trainable + 1,376 BN moving statistics = 274,442 total params.
  const Classifier m = build_model(ModelSpec{"resnet20"}, ImageShape{3, 32, 32}, 10);
  EXPECT_EQ(count_parameters(*m), 273066);
  int64_t buffers = 0;
  for (const auto& b : m->named_buffers())
    if (b.key().find("running_") != std::string::npos) buffers += b.value().numel();
  EXPECT_EQ(buffers, 1376);
  EXPECT_EQ(m->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(ModelsTest, resnet20_works_for_any_input_size_and_channels) {
  const Classifier m = build_model(ModelSpec{"resnet20"}, ImageShape{1, 28, 28}, 7);
  EXPECT_EQ(m->forward(torch::randn({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(m->forward(torch::randn({1, 1, 33, 19})).sizes(), (std::vector<int64_t>{1, 7}));
}

TEST(ModelsTest, same_padding_stride2_pads_bottom_right_only) {
  torch::manual_seed(0);
  SameConv2d conv(1, 1, 3, 2);
  const torch::Tensor x = torch::randn({1, 1, 8, 8});
  const torch::Tensor expected = torch::conv2d(torch::constant_pad_nd(x, {0, 1, 0, 1}), conv->weight, conv->bias, 2);
  EXPECT_TRUE(torch::allclose(conv(x), expected));
  const torch::Tensor symmetric = torch::conv2d(x, conv->weight, conv->bias, 2, 1);
  EXPECT_FALSE(torch::allclose(conv(x), symmetric));  // the difference the reference model is sensitive to
  EXPECT_EQ(conv(x).sizes(), (std::vector<int64_t>{1, 1, 4, 4}));
}

TEST(ModelsTest, batch_norm_uses_keras_epsilon_and_momentum) {
  const auto opts = keras_batch_norm(16);
  EXPECT_DOUBLE_EQ(opts.eps(), 1e-3);
  EXPECT_DOUBLE_EQ(opts.momentum().value(), 0.01);
}

TEST(ModelsTest, he_normal_is_truncated_at_two_sigma_with_fan_in_scale) {
  torch::manual_seed(1);
  torch::Tensor w = torch::empty({64, 32, 3, 3});
  he_normal_(w);
  const double sigma = std::sqrt(2.0 / (32 * 9));
  EXPECT_LE(w.abs().max().item<double>(), 2 * sigma);
  // std of a normal truncated at +-2 sigma is 0.88 sigma
  EXPECT_NEAR(w.std().item<double>(), 0.88 * sigma, 0.03 * sigma);
}

TEST(ModelsTest, small_cnn_with_and_without_batch_norm_and_stable_names) {
  const auto root = common::ConfigNode::load_string("model:\n  name: small-cnn\n  batch_norm: false\n  width: 8\n", "m.yaml");
  const ModelSpec spec = parse_model_spec(root.child("model"));
  const Classifier plain = build_model(spec, ImageShape{1, 28, 28}, 10);
  std::vector<std::string> names;
  for (const auto& p : plain->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                                             "conv3.bias", "conv4.weight", "conv4.bias", "fc.weight", "fc.bias"}));
  const Classifier bn = build_model(ModelSpec{"small-cnn", true, 8}, ImageShape{3, 32, 32}, 4);
  EXPECT_EQ(count_parameters(*bn) - count_parameters(*build_model(ModelSpec{"small-cnn", false, 8}, ImageShape{3, 32, 32}, 4)),
            2 * (8 + 8 + 16 + 16));
  EXPECT_EQ(bn->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 4}));
}

TEST(ModelsTest, unknown_model_name_is_a_config_error) {
  const auto root = common::ConfigNode::load_string("model:\n  name: vgg\n", "m.yaml");
  EXPECT_THROW(parse_model_spec(root.child("model")), ConfigError);
}

}  // namespace
}  // namespace signsweep::workers
