#include "workers/train/trainer.h"

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
  EXPECT_GT(r.test_accuracy, 0.9);
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
