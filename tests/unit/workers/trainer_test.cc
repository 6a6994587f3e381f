#include "workers/train/trainer.h"
#include "workers/gradsigns/gradsigns.h"

#include <gtest/gtest.h>

#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

Dataset synthetic_dataset() {
  SyntheticSpec spec;
  spec.shape = {1, 8, 8};
  spec.num_classes = 4;
  spec.train_size = 400;
  spec.test_size = 100;
  return prepare_dataset(make_synthetic(spec), DatasetSpec{});
}

TrainSpec quick_spec() {
  TrainSpec t;
  t.epochs = 3;
  t.batch_size = 32;
  t.lr = 3e-3;
  t.threads = 1;
  return t;
}

TEST(TrainerTest, learns_a_learnable_synthetic_task) {
  const Dataset ds = synthetic_dataset();
  const TrainSpec spec = quick_spec();
  seed_and_set_threads(spec);
  const Classifier m = build_model(ModelSpec{"small-cnn", true, 8}, ds.shape, ds.num_classes);
  const TrainResult r = train_classifier(*m, ds, spec);
  ASSERT_EQ(r.epochs.size(), 3U);
  EXPECT_LT(r.epochs.back().loss, r.epochs.front().loss);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.9);
}

TEST(TrainerTest, same_seed_gives_identical_weights_on_cpu) {
  const Dataset ds = synthetic_dataset();
  TrainSpec spec = quick_spec();
  spec.epochs = 1;
  spec.weight_decay = 1e-4;
  std::vector<torch::Tensor> runs;
  for (int run = 0; run < 2; ++run) {
    seed_and_set_threads(spec);
    const Classifier m = build_model(ModelSpec{"small-cnn", false, 8}, ds.shape, ds.num_classes);
    train_classifier(*m, ds, spec);
    runs.push_back(torch::cat({m->named_parameters()["conv1.weight"].flatten(), m->named_parameters()["fc.weight"].flatten()}));
  }
  EXPECT_TRUE(torch::equal(runs[0], runs[1]));
}

}  // namespace
}  // namespace signsweep::workers

namespace signsweep::workers {
namespace {

TEST(TrainerTest, step_schedule_and_reference_preset) {
  TrainSpec spec;
  spec.lr = 1e-3;
  spec.lr_steps = {{80, 0.1}, {120, 0.01}, {160, 1e-3}, {180, 5e-4}};
  EXPECT_DOUBLE_EQ(scheduled_lr(spec, 80), 1e-3);
  EXPECT_DOUBLE_EQ(scheduled_lr(spec, 81), 1e-4);
  EXPECT_DOUBLE_EQ(scheduled_lr(spec, 121), 1e-5);
  EXPECT_DOUBLE_EQ(scheduled_lr(spec, 200), 5e-7);
}

TEST(TrainerTest, watermarked_training_is_deterministic_and_selection_restores_the_best_epoch) {
  SyntheticSpec syn;
  syn.shape = {1, 8, 8};
  syn.num_classes = 4;
  syn.train_size = 800;
  const Dataset ds = prepare_dataset(make_synthetic(syn), DatasetSpec{});
  TrainSpec spec;
  spec.epochs = 2;
  spec.batch_size = 40;
  spec.threads = 1;
  spec.select_best = true;
  spec.validation_target = 20;
  spec.validation_others = 60;
  const auto secrets = generate_secrets(8, 10, 0, ds.shape, 4, FlattenOrder::kNhwc, 0);
  std::vector<torch::Tensor> weights;
  std::vector<std::vector<int64_t>> bits;
  for (int run = 0; run < 2; ++run) {
    seed_and_set_threads(spec);
    const GradSigns gs(secrets, ds.shape, 0.5);
    const Classifier m = build_model(ModelSpec{"small-cnn", true, 6}, ds.shape, ds.num_classes);
    const TrainResult r = train_classifier(*m, ds, spec, EmbedOptions{&gs, 8});
    EXPECT_GE(r.best_epoch, 1);
    EXPECT_GT(r.epochs.back().reg, 0.0);
    weights.push_back(m->named_parameters()["conv2.weight"].clone());
    bits.push_back(extract_white_box(*m, gs, target_images(ds.test, 0, 50, 0), 10, 2, 0).bits);
  }
  EXPECT_TRUE(torch::equal(weights[0], weights[1]));
  EXPECT_EQ(bits[0], bits[1]);
}

}  // namespace
}  // namespace signsweep::workers
