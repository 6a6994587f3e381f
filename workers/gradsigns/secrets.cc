#include "workers/gradsigns/secrets.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::workers {

int64_t flat_index(const ImageShape& s, FlattenOrder order, int64_t channel, int64_t row, int64_t col) {
  if (order == FlattenOrder::kNhwc) return (row * s.width + col) * s.channels + channel;
  return (channel * s.height + row) * s.width + col;
}

int64_t nchw_offset(const ImageShape& s, FlattenOrder order, int64_t index) {
  if (order == FlattenOrder::kNchw) return index;
  const int64_t channel = index % s.channels;
  const int64_t pixel = index / s.channels;  // row * W + col
  return channel * s.height * s.width + pixel;
}

WatermarkSecrets generate_secrets(int64_t bits, int64_t carriers, int64_t target_class, const ImageShape& shape,
                                  int64_t num_classes, FlattenOrder order, uint64_t seed) {
  const int64_t dims = shape.numel();
  if (bits < 1) throw ConfigError(fmt::format("watermark.bits = {}: must be >= 1", bits));
  if (carriers < 1 || carriers > dims)
    throw ConfigError(fmt::format("watermark.carriers = {}: must be in [1, {}] (the input size {})", carriers, dims,
                                  to_string(shape)));
  if (target_class < 0 || target_class >= num_classes)
    throw ConfigError(fmt::format("watermark.target_class = {}: must be in [0, {})", target_class, num_classes));
  WatermarkSecrets s;
  s.target_class = target_class;
  s.order = order;
  s.seed = seed;
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  for (int64_t i = 0; i < bits; ++i) s.signature.push_back(coin(rng) ? 1 : 0);
  std::vector<int64_t> all(static_cast<size_t>(dims));
  std::iota(all.begin(), all.end(), 0);
  // Partial Fisher-Yates: the first C entries are a uniform sample without replacement.
  for (int64_t i = 0; i < carriers; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, dims - 1);
    std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(pick(rng))]);
  }
  s.carriers.assign(all.begin(), all.begin() + carriers);
  std::sort(s.carriers.begin(), s.carriers.end());
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  s.key.resize(static_cast<size_t>(bits * carriers));
  for (auto& k : s.key) k = uniform(rng);
  return s;
}

void validate_secrets(const WatermarkSecrets& s, const ImageShape& shape, int64_t num_classes, const std::string& origin) {
  const auto fail = [&](const std::string& what) { throw DataError(fmt::format("{}: watermark secrets: {}", origin, what)); };
  if (s.signature.empty()) fail("empty signature");
  for (const auto b : s.signature)
    if (b != 0 && b != 1) fail(fmt::format("signature value {} is not a bit", b));
  if (s.carriers.empty()) fail("no carriers");
  if (static_cast<int64_t>(s.key.size()) != s.bits() * s.num_carriers())
    fail(fmt::format("key has {} values, expected {} x {} (bits x carriers)", s.key.size(), s.bits(), s.num_carriers()));
  if (!std::is_sorted(s.carriers.begin(), s.carriers.end()) ||
      std::adjacent_find(s.carriers.begin(), s.carriers.end()) != s.carriers.end())
    fail("carriers must be sorted and distinct");
  if (s.carriers.front() < 0 || s.carriers.back() >= shape.numel())
    fail(fmt::format("carrier index {} outside the input size {} ({})", s.carriers.back(), shape.numel(), to_string(shape)));
  if (s.target_class < 0 || s.target_class >= num_classes)
    fail(fmt::format("target class {} outside [0, {})", s.target_class, num_classes));
}

}  // namespace signsweep::workers
