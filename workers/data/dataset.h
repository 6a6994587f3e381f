// A data set ready for training: both splits in memory once as normalised float32 NCHW tensors, the
// normaliser that produced them (kept for verification inputs and checkpoints), and the Batcher that
// assembles a batch with a single pass over its images (gather + optional shift/flip).
// Thread-safety: Dataset is immutable after prepare_dataset; a Batcher is owned by one loop.
#pragma once

#include <torch/torch.h>

#include <random>
#include <string>
#include <vector>

#include "workers/data/dataset_spec.h"
#include "workers/data/image_set.h"

namespace signsweep::workers {

// x/255, then minus the train set's per-pixel mean (reference), or minus/over its per-channel mean/std.
class Normalizer {
 public:
  Normalizer() = default;
  // Statistics of `unit_train`: the training images as float in [0,1], NCHW.
  Normalizer(Normalization kind, const torch::Tensor& unit_train);
  // Given statistics (e.g. from a checkpoint).
  Normalizer(Normalization kind, torch::Tensor mean, torch::Tensor inv_std)
      : kind_(kind), mean_(std::move(mean)), inv_std_(std::move(inv_std)) {}
  // uint8 NCHW -> normalised float32 NCHW (one conversion, then in-place arithmetic).
  torch::Tensor apply(const ImageSet& images) const;
  // Normalises float images in [0,1] in place.
  void apply_(torch::Tensor& unit) const;
  // Normalised -> [0,1] pixel space and back (noise attacks work in pixel space).
  torch::Tensor to_pixels(const torch::Tensor& x) const;
  torch::Tensor from_pixels(const torch::Tensor& pixels) const;
  Normalization kind() const { return kind_; }
  const torch::Tensor& mean() const { return mean_; }  // [1,C,H,W] or [1,C,1,1]
  const torch::Tensor& inv_std() const { return inv_std_; }

 private:
  Normalization kind_ = Normalization::kNone;
  torch::Tensor mean_;
  torch::Tensor inv_std_;
};

struct Split {
  torch::Tensor images;  // float32 [N,C,H,W], normalised
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
  std::vector<int64_t> label_vector() const;
};

struct Dataset {
  std::string name;
  std::string source;
  ImageShape shape;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  Split train;
  Split test;
  Normalizer normalizer;
  AugmentOptions augment;  // applied to training batches
  size_t bytes() const;  // memory held by the tensors
};

// Applies the spec's subsets, then normalises both splits with statistics of the (subset) train split.
Dataset prepare_dataset(const RawDataset& raw, const DatasetSpec& spec);

struct Batch {
  torch::Tensor x;  // [B,C,H,W]
  torch::Tensor y;  // [B]
};

class Batcher {
 public:
  // Batches are gathered on the CPU and handed over on `device` (the model's).
  Batcher(const Split& split, const AugmentOptions& augment, uint64_t seed, torch::Device device = torch::kCPU);
  // The images at `indices`, augmented when asked: random integer shift of up to shift*size pixels in
  // each direction with nearest-edge fill (Keras fill_mode="nearest") and a horizontal flip with p=0.5.
  Batch gather(const std::vector<int64_t>& indices);
  // A data-parallel rank's share of the global batch `indices`: the rows at `positions` (increasing). The
  // augmentation of every row of the global batch is drawn as gather() would draw it, so the shares of a
  // group's ranks (same seed) are exactly the rows of the batch one process would train on.
  Batch gather_share(const std::vector<int64_t>& indices, const std::vector<size_t>& positions);
  // The augmentation generator's state as text, and back (a resumed run draws the same transforms).
  std::string state() const;
  void restore(const std::string& state);

 private:
  struct Transform {
    int64_t dy = 0, dx = 0;
    bool flip = false;
  };
  std::vector<Transform> draw_transforms(size_t rows);
  Batch gather_on_cpu(const std::vector<int64_t>& indices, const std::vector<Transform>& transforms);
  Batch to_device(Batch batch) const;

  const Split& split_;
  AugmentOptions augment_;
  std::mt19937_64 rng_;
  torch::Device device_;
};

}  // namespace signsweep::workers
