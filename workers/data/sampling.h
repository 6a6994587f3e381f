// Index-level data selection, torch-free: per-class subsets (attacker/defender splits), seeded
// per-class train/validation splits, and the batch sampler that puts k target-class images in every
// batch (the reference draws 10 airplanes + 90 others for each batch of 100).
// Thread-safety: BatchSampler is not thread-safe (one per training loop); the functions are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace signsweep::workers {

struct IndexSplit {
  std::vector<int64_t> selected;  // sorted
  std::vector<int64_t> rest;      // sorted
};

// `per_class` images of every class chosen at random (seeded); the rest is everything else.
// Throws DataError when a class has fewer than `per_class` images.
IndexSplit split_per_class(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class, uint64_t seed);

// At most `cap` images of every class chosen at random (seeded); classes with fewer keep all of theirs.
IndexSplit sample_at_most_per_class(const std::vector<int64_t>& labels, int64_t num_classes, int64_t cap, uint64_t seed);

// Each class split at random into round(fraction * count) selected and the remainder (e.g. 0.7/0.3).
IndexSplit split_fraction_per_class(const std::vector<int64_t>& labels, int64_t num_classes, double fraction,
                                    uint64_t seed);

struct SamplerOptions {
  int64_t batch_size = 100;
  // When set, every batch holds `target_per_batch` images of this class and batch_size - k of others.
  std::optional<int64_t> target_class;
  int64_t target_per_batch = 10;
  uint64_t seed = 0;
};

// An endless stream of batches of indices into `labels`. Each pool (target class / others, or all) is
// walked in a seeded random order and reshuffled when used up, so every image is seen once per pass.
class BatchSampler {
 public:
  BatchSampler(const std::vector<int64_t>& labels, const SamplerOptions& options);
  std::vector<int64_t> next_batch();
  // Full batches in one pass over the data (at least 1).
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // Where the stream stands (generator and both pools' orders and positions), as text, and back: a
  // resumed run draws exactly the batches the interrupted one would have drawn next. restore() throws
  // DataError for a state of another data set.
  std::string state() const;
  void restore(const std::string& state);

 private:
  struct Pool {
    std::vector<int64_t> indices;
    size_t cursor = 0;
  };
  void take(Pool& pool, int64_t count, std::vector<int64_t>& out);

  SamplerOptions options_;
  std::mt19937_64 rng_;
  Pool target_;
  Pool others_;  // every index when no target class is set
  int64_t batches_per_epoch_ = 1;
};

// A data-parallel rank's share of a global batch of `batch_size` rows whose first `targets` rows are
// target-class images (BatchSampler's layout): rank r of `ranks` takes the r-th slice of the target rows and
// the r-th slice of the others, so every rank gets its share of the target images too. Both counts must be
// multiples of `ranks` (ConfigError otherwise). Positions in increasing order.
std::vector<size_t> share_positions(int64_t batch_size, int64_t targets, int rank, int ranks);

}  // namespace signsweep::workers
