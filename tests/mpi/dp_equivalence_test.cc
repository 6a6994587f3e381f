// Data-parallel equivalence under real MPI ranks (mpirun -np 2). A group of k ranks with global batch B
// must train the recipe of one process with batch B:
//  1. one step at a time (train_step), 5 steps with weight decay (Adam; SGD with BatchNorm, see below), the GradSigns term (group mean input
//     gradient) and the Uchida term, a BatchNorm model and a BatchNorm-free one: each rank trains on its
//     share of the global batch; the reference is one process that runs the same shares as "ghost batches"
//     (BatchNorm normalises each share with its own statistics, as each rank does) and accumulates their
//     gradients. Parameters must agree to a relative 1e-5. What differs and is not compared: BatchNorm
//     running statistics (the reference updates them once per share, a rank once per step);
//  2. the trainer (train_classifier): 2 epochs of a GradSigns recipe with augmentation and 4 target images
//     per batch of 24, the group against one process with the same global batch: the group draws the same
//     batches and augmentations and shares them, so a BatchNorm-free model ends within 1e-5.
// The device is $SIGNSWEEP_TEST_DEVICE (default cpu): scripts/gpu_check.sh runs it with two ranks on one GPU,
// TF32 off (cuDNN would round convolution inputs to 10 bits, differently for other batch shapes).
// Exit 0 = pass.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "comm/collective.h"
#include "workers/data/dataset_spec.h"
#include "workers/gradsigns/gradsigns.h"
#include "workers/registry.h"
#include "workers/schemes/uchida.h"
#include "workers/train/trainer.h"

using namespace signsweep;
using namespace signsweep::workers;

namespace {

constexpr int64_t kPerRank = 12;
constexpr double kWeightDecay = 1e-4;
const ImageShape kShape{1, 8, 8};

torch::Device test_device() {
  const char* name = std::getenv("SIGNSWEEP_TEST_DEVICE");
  return torch::Device(name != nullptr && *name != '\0' ? name : "cpu");
}

Classifier fresh_model(bool batch_norm) {
  torch::manual_seed(0);
  ModelSpec spec;
  spec.name = "small-cnn";
  spec.width = 4;
  spec.batch_norm = batch_norm;
  Classifier model = build_model(spec, kShape, 3);
  model->to(test_device());
  return model;
}

// Global batch `step` of kPerRank images per rank; every label occurs in every share.
Batch global_batch(int64_t step, int ranks) {
  torch::manual_seed(100 + step);
  Batch b;
  b.x = torch::randn({kPerRank * ranks, 1, 8, 8});
  b.y = torch::arange(kPerRank * ranks, torch::kInt64).remainder(3).to(test_device());
  b.x = b.x.to(test_device());
  return b;
}

Batch rows(const Batch& b, int64_t start, int64_t n) { return {b.x.narrow(0, start, n), b.y.narrow(0, start, n)}; }

torch::Tensor conv_l2(ClassifierImpl& model) {
  torch::Tensor sum = torch::zeros({}, torch::TensorOptions().device(test_device()));
  for (const auto& p : model.parameters())
    if (p.dim() == 4) sum = sum + p.pow(2).sum();
  return sum * kWeightDecay;
}

// One step of one process over the shares of `ranks` ranks as ghost batches (BatchNorm per share).
void ghost_step(ClassifierImpl& model, torch::optim::Optimizer& opt, const Batch& all, int ranks, const WatermarkScheme& scheme) {
  opt.zero_grad();
  model.train();
  const auto* gs = dynamic_cast<const GradSigns*>(&scheme);  // the test knows which term it builds
  torch::Tensor ce_total = torch::zeros({}, torch::TensorOptions().device(test_device())), carrier_sum;
  int64_t targets = 0;
  for (int r = 0; r < ranks; ++r) {
    const Batch share = rows(all, r * kPerRank, kPerRank);
    const torch::Tensor x = share.x.detach().clone().requires_grad_(gs != nullptr);
    const torch::Tensor ce = torch::cross_entropy_loss(model.forward(x), share.y, {}, at::Reduction::Sum);
    ce_total = ce_total + ce;
    if (gs == nullptr) continue;
    const torch::Tensor g = torch::autograd::grad({ce}, {x}, {}, true, true)[0];
    const auto [sum, count] = gs->carrier_gradient_sum(g, share.y);
    carrier_sum = carrier_sum.defined() ? carrier_sum + sum : sum;
    targets += count;
  }
  const torch::Tensor term = gs != nullptr ? gs->regularizer_from_carriers(carrier_sum / static_cast<double>(targets))
                                           : scheme.training_term(model, all.x, all.y, ce_total);
  const torch::Tensor loss = ce_total / static_cast<double>(all.y.size(0)) + scheme.lambda() * term + conv_l2(model);
  loss.backward();
  opt.step();
}

double max_relative_difference(ClassifierImpl& a, ClassifierImpl& b) {
  double worst = 0.0;
  const auto ref = a.named_parameters();
  for (const auto& p : b.named_parameters()) {
    const torch::Tensor r = ref[p.key()];
    // Relative to the tensor's largest value, but at least 1e-2: a convolution's bias before a BatchNorm
    // has a gradient of 0 but for rounding, and stays at 1e-8, where a relative difference means nothing.
    worst = std::max(worst, ((p.value() - r).abs().max() / r.abs().max().clamp_min(1e-2)).item<double>());
  }
  return worst;
}

// Adam for the BatchNorm-free model. With BatchNorm, SGD with momentum: a convolution's bias before a
// BatchNorm has a gradient of exactly 0 in exact arithmetic, and Adam turns its rounding noise (1e-9) into
// steps of +-lr whose sign differs between any two summation orders; SGD keeps noise at the size of noise.
std::unique_ptr<torch::optim::Optimizer> optimizer_for(ClassifierImpl& model, bool batch_norm) {
  if (batch_norm) return std::make_unique<torch::optim::SGD>(model.parameters(), torch::optim::SGDOptions(5e-2).momentum(0.9));
  return std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(1e-2).eps(1e-7));
}

double steps_against_ghost_batches(const WatermarkScheme& scheme, bool batch_norm, comm::Collective& group) {
  Classifier reference = fresh_model(batch_norm), parallel = fresh_model(batch_norm);
  const auto opt_ref = optimizer_for(*reference, batch_norm);
  const auto opt_dp = optimizer_for(*parallel, batch_norm);
  for (int64_t step = 0; step < 5; ++step) {
    const Batch all = global_batch(step, group.size());
    ghost_step(*reference, *opt_ref, all, group.size(), scheme);
    parallel->train();
    train_step(*parallel, *opt_dp, rows(all, group.rank() * kPerRank, kPerRank), &scheme, kWeightDecay, &group);
  }
  return max_relative_difference(*reference, *parallel);
}

double trainer_against_one_process(comm::Collective& group) {
  DatasetSpec data;
  data.name = "synthetic";
  data.synthetic = SyntheticSpec{kShape, 3, 240, 30, 5};
  data.augment = AugmentOptions{0.25, true};
  const Dataset ds = prepare_dataset(load_raw_dataset(data), data);
  TrainSpec spec;
  spec.epochs = 2;
  spec.steps_per_epoch = 3;
  spec.batch_size = 24;
  spec.lr = 1e-2;
  spec.weight_decay = kWeightDecay;
  spec.memory_format = MemoryFormat::kNchw;
  const GradSigns gs(generate_secrets(8, 12, 0, kShape, 3, FlattenOrder::kNhwc, 1), kShape, 1.0, test_device());
  Classifier alone = fresh_model(false), parallel = fresh_model(false);
  train_classifier(*alone, ds, spec, EmbedOptions{&gs, 4});
  train_classifier(*parallel, ds, spec, EmbedOptions{&gs, 4, &group});
  return max_relative_difference(*alone, *parallel);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  register_builtins();
  torch::set_num_threads(1);
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  comm::MpiCollective world(MPI_COMM_WORLD);
  int failures = 0;
  const auto report = [&](const char* what, double worst) {
    if (world.rank() == 0)
      std::printf("%s: %d ranks on %s: max relative parameter difference %.3g\n", what, world.size(), test_device().str().c_str(), worst);
    failures += worst > 1e-5;
  };
  const GradSigns gs(generate_secrets(8, 12, 0, kShape, 3, FlattenOrder::kNhwc, 1), kShape, 1.0, test_device());
  Classifier probe = fresh_model(true);
  const std::string layer = default_uchida_layer(*probe);
  const Uchida uchida(generate_uchida_secrets(8, uchida_layer_size(*probe, layer), layer, 2), *probe, 0.1);
  for (const bool bn : {false, true}) {
    report(bn ? "gradsigns, BatchNorm, vs ghost batches" : "gradsigns, no BatchNorm, vs ghost batches",
           steps_against_ghost_batches(gs, bn, world));
    report(bn ? "uchida, BatchNorm, vs ghost batches" : "uchida, no BatchNorm, vs ghost batches",
           steps_against_ghost_batches(uchida, bn, world));
  }
  report("trainer, global batch 24 shared, vs one process", trainer_against_one_process(world));
  int any = failures;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (world.rank() == 0) std::printf("%s\n", any ? "FAIL" : "PASS");
  MPI_Finalize();
  return any ? 1 : 0;
}
