#include "workers/data/sampling.h"

#include <gtest/gtest.h>

#include <set>

#include "common/errors.h"

namespace signsweep::workers {
namespace {

std::vector<int64_t> labels_cycle(int64_t n, int64_t classes) {
  std::vector<int64_t> l;
  for (int64_t i = 0; i < n; ++i) l.push_back(i % classes);
  return l;
}

TEST(SamplingTest, split_per_class_takes_exactly_k_of_each_class_disjointly) {
  const auto labels = labels_cycle(100, 10);
  const IndexSplit s = split_per_class(labels, 10, 3, 42);
  EXPECT_EQ(s.selected.size(), 30U);
  EXPECT_EQ(s.rest.size(), 70U);
  std::vector<int> per_class(10);
  for (const auto i : s.selected) ++per_class[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  EXPECT_EQ(per_class, std::vector<int>(10, 3));
  std::set<int64_t> all(s.selected.begin(), s.selected.end());
  all.insert(s.rest.begin(), s.rest.end());
  EXPECT_EQ(all.size(), 100U);
  EXPECT_EQ(split_per_class(labels, 10, 3, 42).selected, s.selected);  // seeded
  EXPECT_NE(split_per_class(labels, 10, 3, 43).selected, s.selected);
  EXPECT_THROW(split_per_class(labels, 10, 11, 0), DataError);
}

TEST(SamplingTest, fraction_split_is_70_30_per_class) {
  const IndexSplit s = split_fraction_per_class(labels_cycle(200, 4), 4, 0.7, 1);
  EXPECT_EQ(s.selected.size(), 140U);
  EXPECT_EQ(s.rest.size(), 60U);
}

TEST(SamplingTest, every_batch_holds_k_target_images) {
  const auto labels = labels_cycle(1000, 10);
  SamplerOptions o;
  o.batch_size = 100;
  o.target_class = 0;
  o.target_per_batch = 10;
  BatchSampler sampler(labels, o);
  for (int b = 0; b < 30; ++b) {
    const auto batch = sampler.next_batch();
    ASSERT_EQ(batch.size(), 100U);
    int targets = 0;
    for (const auto i : batch) targets += labels[static_cast<size_t>(i)] == 0;
    EXPECT_EQ(targets, 10) << "batch " << b;
  }
}

TEST(SamplingTest, one_pass_visits_every_image_once) {
  const auto labels = labels_cycle(120, 3);
  SamplerOptions o;
  o.batch_size = 40;
  BatchSampler sampler(labels, o);
  EXPECT_EQ(sampler.batches_per_epoch(), 3);
  std::multiset<int64_t> seen;
  for (int b = 0; b < 3; ++b)
    for (const auto i : sampler.next_batch()) seen.insert(i);
  EXPECT_EQ(seen.size(), 120U);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 120U);
}

TEST(SamplingTest, invalid_target_settings_are_errors) {
  const auto labels = labels_cycle(50, 5);
  SamplerOptions o;
  o.batch_size = 10;
  o.target_class = 7;  // no such images
  o.target_per_batch = 2;
  EXPECT_THROW(BatchSampler(labels, o), DataError);
  o.target_class = 1;
  o.target_per_batch = 10;
  EXPECT_THROW(BatchSampler(labels, o), ConfigError);
}

}  // namespace
}  // namespace signsweep::workers
