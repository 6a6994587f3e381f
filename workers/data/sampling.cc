#include "workers/data/sampling.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::workers {
namespace {

std::vector<std::vector<int64_t>> indices_by_class(const std::vector<int64_t>& labels, int64_t num_classes) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) by_class[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  return by_class;
}

IndexSplit split_with_counts(const std::vector<int64_t>& labels, int64_t num_classes, uint64_t seed,
                             const std::function<int64_t(int64_t)>& count_for) {
  std::mt19937_64 rng(seed);
  IndexSplit split;
  auto by_class = indices_by_class(labels, num_classes);
  for (int64_t c = 0; c < num_classes; ++c) {
    auto& idx = by_class[static_cast<size_t>(c)];
    const int64_t take = count_for(static_cast<int64_t>(idx.size()));
    if (take > static_cast<int64_t>(idx.size()))
      throw DataError(fmt::format("class {} has {} images, fewer than the {} asked for", c, idx.size(), take));
    std::shuffle(idx.begin(), idx.end(), rng);
    split.selected.insert(split.selected.end(), idx.begin(), idx.begin() + take);
    split.rest.insert(split.rest.end(), idx.begin() + take, idx.end());
  }
  std::sort(split.selected.begin(), split.selected.end());
  std::sort(split.rest.begin(), split.rest.end());
  return split;
}

}  // namespace

IndexSplit split_per_class(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class, uint64_t seed) {
  return split_with_counts(labels, num_classes, seed, [per_class](int64_t) { return per_class; });
}

IndexSplit sample_at_most_per_class(const std::vector<int64_t>& labels, int64_t num_classes, int64_t cap, uint64_t seed) {
  return split_with_counts(labels, num_classes, seed, [cap](int64_t n) { return std::min(n, cap); });
}

IndexSplit split_fraction_per_class(const std::vector<int64_t>& labels, int64_t num_classes, double fraction,
                                    uint64_t seed) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) throw DataError(fmt::format("split fraction {} outside [0, 1]", fraction));
  return split_with_counts(labels, num_classes, seed, [fraction](int64_t n) {
    return static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  });
}

BatchSampler::BatchSampler(const std::vector<int64_t>& labels, const SamplerOptions& options)
    : options_(options), rng_(options.seed) {
  if (options_.batch_size < 1) throw ConfigError(fmt::format("batch size {} must be >= 1", options_.batch_size));
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool is_target = options_.target_class && labels[i] == *options_.target_class;
    (is_target ? target_ : others_).indices.push_back(static_cast<int64_t>(i));
  }
  if (options_.target_class) {
    if (options_.target_per_batch < 1 || options_.target_per_batch >= options_.batch_size)
      throw ConfigError(fmt::format("target images per batch ({}) must be in [1, batch size {})",
                                    options_.target_per_batch, options_.batch_size));
    if (target_.indices.empty())
      throw DataError(fmt::format("no training image of target class {}", *options_.target_class));
  }
  if (others_.indices.empty()) throw DataError("the training split is empty (or holds only the target class)");
  std::shuffle(target_.indices.begin(), target_.indices.end(), rng_);
  std::shuffle(others_.indices.begin(), others_.indices.end(), rng_);
  batches_per_epoch_ = std::max<int64_t>(1, static_cast<int64_t>(labels.size()) / options_.batch_size);
}

void BatchSampler::take(Pool& pool, int64_t count, std::vector<int64_t>& out) {
  for (int64_t k = 0; k < count; ++k) {
    if (pool.cursor == pool.indices.size()) {
      std::shuffle(pool.indices.begin(), pool.indices.end(), rng_);
      pool.cursor = 0;
    }
    out.push_back(pool.indices[pool.cursor++]);
  }
}

std::vector<int64_t> BatchSampler::next_batch() {
  std::vector<int64_t> batch;
  batch.reserve(static_cast<size_t>(options_.batch_size));
  const int64_t k = options_.target_class ? options_.target_per_batch : 0;
  take(target_, k, batch);
  take(others_, options_.batch_size - k, batch);
  return batch;
}

namespace {

void write_pool(std::ostream& out, const std::vector<int64_t>& indices, size_t cursor) {
  out << indices.size() << ' ' << cursor;
  for (const int64_t i : indices) out << ' ' << i;
  out << '\n';
}

}  // namespace

std::string BatchSampler::state() const {
  std::ostringstream out;
  out << rng_ << '\n';
  write_pool(out, target_.indices, target_.cursor);
  write_pool(out, others_.indices, others_.cursor);
  return out.str();
}

void BatchSampler::restore(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 rng;
  in >> rng;
  for (Pool* pool : {&target_, &others_}) {
    size_t n = 0, cursor = 0;
    in >> n >> cursor;
    std::vector<int64_t> indices(n);
    for (int64_t& i : indices) in >> i;
    std::vector<int64_t> sorted = indices, mine = pool->indices;
    std::sort(sorted.begin(), sorted.end());
    std::sort(mine.begin(), mine.end());
    if (!in || sorted != mine || cursor > n) throw DataError("sampler state: not the state of this data split");
    pool->indices = std::move(indices);
    pool->cursor = cursor;
  }
  rng_ = rng;
}

std::vector<size_t> share_positions(int64_t batch_size, int64_t targets, int rank, int ranks) {
  if (ranks < 1 || batch_size % ranks != 0 || targets % ranks != 0)
    throw ConfigError(fmt::format("a data-parallel group of {} ranks shares every batch: trainer.batch_size = {} and "
                                  "watermark.target_per_batch = {} must both be multiples of {}",
                                  ranks, batch_size, targets, ranks));
  std::vector<size_t> positions;
  const int64_t my_targets = targets / ranks, my_others = (batch_size - targets) / ranks;
  for (int64_t i = 0; i < my_targets; ++i) positions.push_back(static_cast<size_t>(rank * my_targets + i));
  for (int64_t i = 0; i < my_others; ++i) positions.push_back(static_cast<size_t>(targets + rank * my_others + i));
  return positions;
}

}  // namespace signsweep::workers
