#include "workers/data/dataset.h"

#include <gtest/gtest.h>

#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

RawDataset tiny() {
  SyntheticSpec spec;
  spec.shape = {2, 4, 5};
  spec.num_classes = 3;
  spec.train_size = 30;
  spec.test_size = 9;
  return make_synthetic(spec);
}

TEST(DatasetTest, per_pixel_mean_normalisation_is_the_reference_formula) {
  const RawDataset raw = tiny();
  DatasetSpec spec;
  const Dataset ds = prepare_dataset(raw, spec);
  // x/255 - mean over the train set at that pixel
  const int64_t pixel = 17;
  double mean = 0;
  for (int64_t i = 0; i < raw.train.size(); ++i) mean += raw.train.image(i)[pixel] / 255.0;
  mean /= static_cast<double>(raw.train.size());
  const float got = ds.test.images.view({ds.test.size(), -1})[3][pixel].item<float>();
  EXPECT_NEAR(got, raw.test.image(3)[pixel] / 255.0 - mean, 1e-6);
  EXPECT_NEAR(ds.train.images.mean(0).abs().max().item<float>(), 0.0F, 1e-5);
  EXPECT_EQ(ds.bytes(), (30 + 9) * 40 * sizeof(float) + 39 * sizeof(int64_t));
}

TEST(DatasetTest, per_channel_normalisation_has_zero_mean_unit_std) {
  DatasetSpec spec;
  spec.normalization = Normalization::kPerChannel;
  const Dataset ds = prepare_dataset(tiny(), spec);
  const auto m = ds.train.images.mean({0, 2, 3});
  const auto s = ds.train.images.std({0, 2, 3}, false);
  EXPECT_TRUE(torch::allclose(m, torch::zeros_like(m), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(s, torch::ones_like(s), 1e-4, 1e-4));
  const auto round_trip = ds.normalizer.from_pixels(ds.normalizer.to_pixels(ds.test.images));
  EXPECT_TRUE(torch::allclose(round_trip, ds.test.images, 1e-5, 1e-5));
}

TEST(DatasetTest, subset_keeps_k_per_class) {
  DatasetSpec spec;
  spec.train_per_class = 4;
  const Dataset ds = prepare_dataset(tiny(), spec);
  EXPECT_EQ(ds.train.size(), 12);
  EXPECT_EQ(class_counts(ds.train.label_vector(), 3), (std::vector<int64_t>{4, 4, 4}));
}

TEST(DatasetTest, batch_without_augmentation_is_the_indexed_images) {
  const Dataset ds = prepare_dataset(tiny(), DatasetSpec{});
  Batcher batcher(ds.train, AugmentOptions{}, 0);
  const Batch b = batcher.gather({5, 2, 5});
  EXPECT_TRUE(torch::equal(b.x[0], ds.train.images[5]));
  EXPECT_TRUE(torch::equal(b.x[1], ds.train.images[2]));
  EXPECT_EQ(b.y[2].item<int64_t>(), ds.train.labels[5].item<int64_t>());
}

TEST(DatasetTest, flip_mirrors_and_shift_moves_with_edge_fill) {
  const Dataset ds = prepare_dataset(tiny(), DatasetSpec{});
  const torch::Tensor img = ds.train.images[0];
  AugmentOptions flip_only;
  flip_only.flip = true;
  Batcher flipper(ds.train, flip_only, 3);
  int flipped = 0;
  for (int t = 0; t < 40; ++t) {
    const torch::Tensor out = flipper.gather({0}).x[0];
    if (torch::equal(out, img.flip({2}))) ++flipped;
    else EXPECT_TRUE(torch::equal(out, img));
  }
  EXPECT_GT(flipped, 5);
  EXPECT_LT(flipped, 35);

  AugmentOptions shift_only;
  shift_only.shift = 0.45;  // up to 1 pixel on 4 rows, 2 on 5 columns
  Batcher shifter(ds.train, shift_only, 5);
  for (int t = 0; t < 20; ++t) {
    const torch::Tensor out = shifter.gather({0}).x[0];
    bool matched = false;
    for (int64_t dy = -1; dy <= 1 && !matched; ++dy)
      for (int64_t dx = -2; dx <= 2 && !matched; ++dx) {
        torch::Tensor rows = torch::arange(4).sub(dy).clamp(0, 3);
        torch::Tensor cols = torch::arange(5).sub(dx).clamp(0, 4);
        matched = torch::equal(out, img.index_select(1, rows).index_select(2, cols));
      }
    EXPECT_TRUE(matched) << "trial " << t;
  }
}

}  // namespace
}  // namespace signsweep::workers
