// The CUDA-labelled tests: what runs on the GPU gives what runs on the CPU. Each test computes on the
// device under test and on the CPU and compares. The device under test is $SIGNSWEEP_TEST_DEVICE, else
// cuda:0 when a GPU is visible; without one every test is skipped with the reason (ctest reports them as
// skipped). scripts/gpu_check.sh runs them on the GPU machine, and in its CPU mode with
// SIGNSWEEP_TEST_DEVICE=cpu, which runs this code (cpu against cpu) so the script is tested off the GPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "common/config.h"
#include "tests/support/files.h"
#include "tests/support/readings.h"
#include "workers/evaluation/checkpoint_io.h"
#include "workers/data/loaders.h"
#include "workers/device/device.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/models/double_backward.h"
#include "workers/train/trainer.h"

namespace signsweep::workers {
namespace {

// The device under test, or "" with the reason to skip in `why`.
std::string device_under_test(std::string* why) {
  if (const char* forced = std::getenv("SIGNSWEEP_TEST_DEVICE"); forced && *forced) return forced;
  if (torch::cuda::is_available()) return "cuda:0";
  *why = torch::hasCUDA() ? "no GPU visible to this CUDA LibTorch (set SIGNSWEEP_TEST_DEVICE=cpu to run the code on the CPU)"
                          : "this LibTorch is a CPU-only build (the CMake preset torch2 builds the CUDA one)";
  return "";
}

#define SIGNSWEEP_DEVICE_OR_SKIP(var)           \
  std::string why_skipped;                      \
  const std::string var = device_under_test(&why_skipped); \
  if (var.empty()) GTEST_SKIP() << why_skipped

// Largest |a - b| / max(|b|, floor) over two tensors of the same shape.
double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b, double floor) {
  const torch::Tensor ad = a.detach().cpu().to(torch::kFloat64), bd = b.detach().cpu().to(torch::kFloat64);
  return ((ad - bd).abs() / bd.abs().clamp_min(floor)).max().item<double>();
}

// `from`'s parameters and buffers copied into `to` (a model of the same architecture).
void copy_weights(const ClassifierImpl& from, ClassifierImpl& to) {
  const torch::NoGradGuard no_grad;
  for (const auto& item : from.named_parameters()) to.named_parameters()[item.key()].copy_(item.value());
  for (const auto& item : from.named_buffers()) to.named_buffers()[item.key()].copy_(item.value());
}

struct Problem {
  ImageShape shape{3, 8, 8};
  Classifier model;
  torch::Tensor x, y;
  WatermarkSecrets secrets;
};

// A small BatchNorm CNN in double precision with a batch that holds target images (class 0).
Problem double_precision_problem() {
  torch::manual_seed(11);
  Problem p;
  p.model = build_model(ModelSpec{"small-cnn", true, 4}, p.shape, 4);
  p.model->to(torch::kFloat64);
  p.model->train();
  p.x = torch::randn({8, 3, 8, 8}, torch::kFloat64);
  p.y = torch::tensor({0, 1, 0, 2, 3, 0, 1, 0}, torch::kInt64);
  p.secrets = generate_secrets(16, 24, 0, p.shape, 4, FlattenOrder::kNhwc, 5);
  return p;
}

// The regularizer's value and its gradient with respect to every parameter, on `device`.
std::pair<double, std::vector<torch::Tensor>> regularizer_and_gradients(const Problem& p, const torch::Device& device) {
  const Classifier model = build_model(ModelSpec{"small-cnn", true, 4}, p.shape, 4);
  model->to(torch::kFloat64);
  copy_weights(*p.model, *model);
  model->to(device);
  model->train();
  const GradSigns gs(p.secrets, p.shape, 1.0, device);
  const torch::Tensor x = p.x.to(device).requires_grad_(true);
  const torch::Tensor y = p.y.to(device);
  const torch::Tensor ce = torch::cross_entropy_loss(model->forward(x), y, {}, at::Reduction::Sum);
  const torch::Tensor reg = gs.regularizer(x, y, ce);
  model->zero_grad();
  reg.to(torch::kFloat64).backward();
  std::vector<torch::Tensor> grads;
  for (const auto& param : model->parameters()) grads.push_back(param.grad().cpu());
  return {reg.item<double>(), grads};
}

TEST(CudaTest, regularizer_gradient_on_the_device_matches_the_cpu_in_double_precision) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  const Problem p = double_precision_problem();
  const auto [cpu_value, cpu_grads] = regularizer_and_gradients(p, torch::kCPU);
  const auto [dev_value, dev_grads] = regularizer_and_gradients(p, torch::Device(device));
  EXPECT_GT(cpu_value, 0.0);
  EXPECT_NEAR(dev_value, cpu_value, 1e-10 * cpu_value);
  ASSERT_EQ(dev_grads.size(), cpu_grads.size());
  double worst = 0.0;
  for (size_t i = 0; i < cpu_grads.size(); ++i) {
    // Biases before a BatchNorm have a gradient of zero but for rounding: compare at a floor.
    worst = std::max(worst, max_relative_difference(dev_grads[i], cpu_grads[i], 1e-6));
  }
  EXPECT_LT(worst, 1e-8) << "largest relative gradient difference " << device << " vs cpu";
}

TEST(CudaTest, white_box_and_remote_extraction_on_the_device_read_what_the_cpu_reads) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  torch::manual_seed(4);
  const ImageShape shape{1, 8, 8};
  const Classifier cpu_model = build_model(ModelSpec{"small-cnn", true, 4}, shape, 3);
  cpu_model->eval();
  const auto secrets = generate_secrets(16, 20, 1, shape, 3, FlattenOrder::kNhwc, 2);
  const torch::Tensor images = torch::randn({6, 1, 8, 8});
  const GradSigns cpu_gs(secrets, shape, 1.0);
  const Extraction cpu_white = extract_white_box(*cpu_model, cpu_gs, images, 6, 1, 0);
  PredictionApi cpu_api(*cpu_model, torch::kFloat64);
  const Extraction cpu_remote = extract_remote(cpu_api, cpu_gs, images, 1e-6, 50);

  const Classifier dev_model = build_model(ModelSpec{"small-cnn", true, 4}, shape, 3);
  copy_weights(*cpu_model, *dev_model);
  dev_model->to(torch::Device(device));
  dev_model->eval();
  const GradSigns dev_gs(secrets, shape, 1.0, torch::Device(device));
  const Extraction dev_white = extract_white_box(*dev_model, dev_gs, images, 6, 1, 0);
  PredictionApi dev_api(*dev_model, torch::kFloat64);
  const Extraction dev_remote = extract_remote(dev_api, dev_gs, images, 1e-6, 50);

  // float32 white-box: other kernels, other rounding, and cuDNN convolutions in TF32 by default on Ampere
  // and later (10-bit mantissa); bits clear of zero must agree.
  EXPECT_LT(max_relative_difference(dev_white.logits, cpu_white.logits, 1e-2 * cpu_white.logits.abs().max().item<double>()), 2e-2);
  EXPECT_EQ(testing::disagreements_beyond_margin(dev_white.logits.cpu(), cpu_white.logits.cpu(), 0.01), 0);
  // Remote answers come from float64 probabilities: the finite differences agree closely.
  EXPECT_LT(max_relative_difference(dev_remote.logits, cpu_remote.logits, 1e-3 * cpu_remote.logits.abs().max().item<double>()), 1e-3);
  EXPECT_EQ(testing::disagreements_beyond_margin(dev_remote.logits.cpu(), cpu_remote.logits.cpu(), 0.01), 0);
  EXPECT_EQ(dev_api.queries(), cpu_api.queries());
}

TEST(CudaTest, checkpoint_written_from_the_device_reads_back_on_the_cpu) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  const TrialConfig config = parse_trial_config(common::ConfigNode::load_string(
      "dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3}\n"
      "model: {name: small-cnn, width: 4}\n"
      "watermark: {bits: 8, carriers: 6, lambda: 0.5, target_class: 2, seed: 9}\n",
      "cuda.yaml"));
  const Dataset ds = prepare_dataset(load_raw_dataset(config.dataset), config.dataset);
  torch::manual_seed(0);
  const Classifier model = build_model(config.model, ds.shape, ds.num_classes);
  model->to(torch::Device(device));
  model->train();
  model->forward(ds.train.images.narrow(0, 0, 16).to(torch::Device(device)));  // BatchNorm statistics off their defaults
  const auto secrets = generate_secrets(8, 6, 2, ds.shape, 3, FlattenOrder::kNhwc, 9);
  const GradSigns gs(secrets, ds.shape, 0.5, torch::Device(device));
  testing::TempDir dir;
  save_model_checkpoint(dir.file("m.h5"), *model, config, ds, &gs, {});
  const LoadedModel loaded = load_model_checkpoint(dir.file("m.h5"), torch::kCPU);
  for (const auto& item : model->named_parameters()) {
    const torch::Tensor back = loaded.model->named_parameters()[item.key()];
    EXPECT_EQ(back.device(), torch::Device(torch::kCPU)) << item.key();
    EXPECT_TRUE(torch::equal(back, item.value().cpu())) << item.key();
  }
  for (const auto& item : model->named_buffers())
    EXPECT_TRUE(torch::equal(loaded.model->named_buffers()[item.key()], item.value().cpu())) << item.key();
}

TEST(CudaTest, a_trainer_bound_to_the_device_trains_there) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  SyntheticSpec spec;
  spec.shape = {1, 8, 8};
  spec.num_classes = 4;
  spec.train_size = 400;
  spec.test_size = 100;
  const Dataset ds = prepare_dataset(make_synthetic(spec), DatasetSpec{});
  TrainSpec t;
  t.epochs = 3;
  t.batch_size = 32;
  t.lr = 3e-3;
  t.threads = 1;
  t.device = device;
  seed_and_set_threads(t);
  const Classifier model = build_model(ModelSpec{"small-cnn", true, 8}, ds.shape, ds.num_classes);
  model->to(torch::Device(device));
  const TrainResult r = train_classifier(*model, ds, t);
  for (const auto& param : model->parameters()) EXPECT_EQ(param.device(), torch::Device(device));
  ASSERT_EQ(r.epochs.size(), 3U);
  EXPECT_LT(r.epochs.back().loss, r.epochs.front().loss);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
  // A GPU is named by its UUID so that ranks under --gpus-per-task=1 are told apart (device.h).
  if (device.rfind("cuda", 0) == 0) {
    const auto uuids = visible_gpu_uuids();
    ASSERT_FALSE(uuids.empty());
    EXPECT_EQ(uuids.front().rfind("GPU-", 0), 0U) << uuids.front();
  }
}

// BatchNorm's fused double backward (models/double_backward.h: CUDA kernels on the device) against the CPU's
// (itself tested against LibTorch's and finite differences), on the same double-precision inputs: both
// layouts, batches of 1 and 2, a single-pixel map, a CIFAR-sized activation (several slices per channel),
// and each of gx, gw/gb absent.
TEST(CudaTest, fused_batch_norm_double_backward_on_the_device_matches_the_cpus_in_double_precision) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  const torch::Device dev(device);
  struct Case {
    int64_t n, c, h, w;
  };
  int checked = 0;
  uint64_t seed = 40;
  for (const Case& k : {Case{1, 3, 4, 5}, Case{2, 4, 3, 3}, Case{2, 3, 1, 1}, Case{8, 16, 32, 32}, Case{3, 64, 8, 8}})
    for (const bool channels_last : {false, true})
      for (const int absent : {0, 1, 2}) {  // nothing absent, gx absent, gw and gb absent
        SCOPED_TRACE(fmt::format("{}x{}x{}x{} {} absent {}", k.n, k.c, k.h, k.w, channels_last ? "channels-last" : "NCHW",
                                 absent));
        torch::manual_seed(seed++);
        const auto format = channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
        const auto o = torch::TensorOptions().dtype(torch::kFloat64);
        const torch::Tensor x = (torch::randn({k.n, k.c, k.h, k.w}, o) * 2.0 + 0.5).contiguous(format);
        const torch::Tensor dy = torch::randn({k.n, k.c, k.h, k.w}, o).contiguous(format);
        const torch::Tensor gx = absent == 1 ? torch::Tensor() : torch::randn({k.n, k.c, k.h, k.w}, o).contiguous(format);
        const torch::Tensor gamma = torch::randn({k.c}, o);
        const torch::Tensor gw = absent == 2 ? torch::Tensor() : torch::randn({k.c}, o);
        const torch::Tensor gb = absent == 2 ? torch::Tensor() : torch::randn({k.c}, o);
        const torch::Tensor mean = x.mean({0, 2, 3});
        const torch::Tensor invstd = (x.var({0, 2, 3}, false) + 1e-3).rsqrt();
        const auto on = [&](const torch::Tensor& t) { return t.defined() ? t.to(dev) : t; };
        const BatchNormDoubleBackward cpu = batch_norm_double_backward(dy, x, gamma, mean, invstd, gx, gw, gb);
        const BatchNormDoubleBackward got =
            batch_norm_double_backward(on(dy), on(x), on(gamma), on(mean), on(invstd), on(gx), on(gw), on(gb));
        EXPECT_EQ(got.grad_x.device(), dev);
        EXPECT_LT(max_relative_difference(got.grad_x, cpu.grad_x, 1e-6), 1e-10);
        EXPECT_LT(max_relative_difference(got.grad_dy, cpu.grad_dy, 1e-6), 1e-10);
        EXPECT_LT(max_relative_difference(got.grad_weight, cpu.grad_weight, 1e-6), 1e-10);
        ++checked;
      }
  EXPECT_EQ(checked, 30);
}

// A GradSigns step through signsweep's double backwards on the device (BatchNorm's CUDA kernels, the
// convolution and ReLU functions), against LibTorch's on the device: parameter gradients in float32 and
// double. On CUDA they are used only with SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda (scripts/gpu_check.sh sets
// it); without it the test is skipped, saying so.
TEST(CudaTest, a_gradsigns_step_through_signsweeps_double_backwards_on_the_device_matches_libtorchs) {
  SIGNSWEEP_DEVICE_OR_SKIP(device);
  const torch::Device dev(device);
  if (!own_double_backward_on(dev))
    GTEST_SKIP() << device << " keeps LibTorch's double backwards (SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda in a build "
                 << (cuda_kernels_built() ? "with" : "without") << " the CUDA kernels)";
  // TF32 off: cuDNN would round the convolutions' inputs to 10 bits, differently for the two graphs' calls.
  const bool tf32_cudnn = at::globalContext().allowTF32CuDNN(), tf32_cublas = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  const ImageShape shape{3, 8, 8};
  for (const torch::ScalarType dtype : {torch::kFloat32, torch::kFloat64}) {
    SCOPED_TRACE(dtype == torch::kFloat64 ? "double" : "float");
    torch::manual_seed(11);
    const Classifier model = build_model(ModelSpec{"resnet20", true, 4}, shape, 4);
    model->to(dev, dtype);
    model->train();
    const torch::Tensor x = torch::randn({8, 3, 8, 8}, dtype).to(dev);
    const torch::Tensor y = torch::tensor({0, 1, 0, 2, 3, 0, 1, 0}, torch::kInt64).to(dev);
    const GradSigns gs(generate_secrets(6, 9, 0, shape, 4, FlattenOrder::kNhwc, 2), shape, 0.3, dev);
    const auto step_gradient = [&](bool own) {
      const DoubleBackwardScope scope(own);
      model->zero_grad();
      const torch::Tensor input = x.detach().clone().requires_grad_(true);
      const torch::Tensor ce = torch::cross_entropy_loss(model->forward(input), y, {}, at::Reduction::Sum);
      const torch::Tensor loss = gs.lambda() * gs.regularizer(input, y, ce) + ce / 8.0;
      torch::autograd::backward({loss}, {}, {}, false, model->parameters());
      std::vector<torch::Tensor> grads;
      for (const torch::Tensor& p : model->parameters()) grads.push_back(p.grad().detach().reshape({-1}).clone());
      return torch::cat(grads).to(torch::kCPU, torch::kFloat64);
    };
    const torch::Tensor libtorch = step_gradient(false);
    const torch::Tensor own = step_gradient(true);
    ASSERT_GT(libtorch.norm().item<double>(), 0.0);
    const double relative = (own - libtorch).norm().item<double>() / libtorch.norm().item<double>();
    EXPECT_LE(relative, dtype == torch::kFloat64 ? 1e-10 : 1e-5);
  }
  at::globalContext().setAllowTF32CuDNN(tf32_cudnn);
  at::globalContext().setAllowTF32CuBLAS(tf32_cublas);
}

}  // namespace
}  // namespace signsweep::workers
