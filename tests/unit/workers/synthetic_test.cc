#include <gtest/gtest.h>

#include "common/errors.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

TEST(SyntheticTest, same_seed_same_data_other_seed_other_data) {
  SyntheticSpec spec;
  spec.shape = {3, 5, 7};
  spec.num_classes = 3;
  const RawDataset a = make_synthetic(spec), b = make_synthetic(spec);
  EXPECT_EQ(a.train.pixels, b.train.pixels);
  EXPECT_EQ(a.train.shape, (ImageShape{3, 5, 7}));
  EXPECT_EQ(class_counts(a.train.labels, 3), (std::vector<int64_t>{86, 85, 85}));
  spec.seed = 1;
  EXPECT_NE(make_synthetic(spec).train.pixels, a.train.pixels);
}

TEST(SyntheticTest, invalid_spec_is_an_error) {
  SyntheticSpec spec;
  spec.num_classes = 1;
  EXPECT_THROW(make_synthetic(spec), DataError);
}

}  // namespace
}  // namespace signsweep::workers
