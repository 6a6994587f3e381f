// Synthetic data: seeded, any shape and class count, learnable (class means + noise), for fast tests.
#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/errors.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

ImageSet sample(const std::vector<std::vector<double>>& means, const ImageShape& shape, int64_t n, std::mt19937_64& rng) {
  ImageSet set;
  set.shape = shape;
  set.pixels.resize(static_cast<size_t>(n * shape.numel()));
  std::normal_distribution<double> noise(0.0, 40.0);
  const auto classes = static_cast<int64_t>(means.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % classes;  // balanced
    set.labels.push_back(label);
    for (int64_t p = 0; p < shape.numel(); ++p) {
      const double v = means[static_cast<size_t>(label)][static_cast<size_t>(p)] + noise(rng);
      set.pixels[static_cast<size_t>(i * shape.numel() + p)] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
  return set;
}

void check_spec(const SyntheticSpec& spec) {
  if (spec.shape.numel() <= 0 || spec.num_classes < 2 || spec.train_size < spec.num_classes || spec.test_size < 1)
    throw DataError(fmt::format("synthetic: invalid spec (shape {}, {} classes, {} train, {} test)",
                                to_string(spec.shape), spec.num_classes, spec.train_size, spec.test_size));
}

// Labels are i mod classes (balanced): class c of n images has n / classes images, one more when c < n % classes.
std::vector<int64_t> balanced_counts(int64_t n, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes), n / classes);
  for (int64_t c = 0; c < n % classes; ++c) ++counts[static_cast<size_t>(c)];
  return counts;
}

}  // namespace

DataShape probe_synthetic(const SyntheticSpec& spec) {
  check_spec(spec);
  return {spec.shape, spec.num_classes, balanced_counts(spec.train_size, spec.num_classes),
          balanced_counts(spec.test_size, spec.num_classes)};
}

RawDataset make_synthetic(const SyntheticSpec& spec) {
  check_spec(spec);
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> level(30.0, 225.0);
  std::vector<std::vector<double>> means(static_cast<size_t>(spec.num_classes));
  for (auto& m : means) {
    m.resize(static_cast<size_t>(spec.shape.numel()));
    for (auto& v : m) v = level(rng);
  }
  RawDataset ds;
  ds.name = "synthetic";
  ds.source = fmt::format("synthetic {} classes={} seed={}", to_string(spec.shape), spec.num_classes, spec.seed);
  ds.num_classes = spec.num_classes;
  ds.class_names = numbered_class_names(spec.num_classes);
  ds.train = sample(means, spec.shape, spec.train_size, rng);
  ds.test = sample(means, spec.shape, spec.test_size, rng);
  return ds;
}

}  // namespace signsweep::workers
