#include "workers/data/dataset.h"

#include <sstream>

#include <cstring>

#include <fmt/format.h>

#include "common/errors.h"
#include "workers/data/sampling.h"

namespace signsweep::workers {
namespace {

torch::Tensor uint8_view(const ImageSet& images) {
  // from_blob does not copy; the caller converts (copies) before `images` goes away.
  return torch::from_blob(const_cast<uint8_t*>(images.pixels.data()),
                          {images.size(), images.shape.channels, images.shape.height, images.shape.width},
                          torch::kUInt8);
}

torch::Tensor to_unit_float(const ImageSet& images) { return uint8_view(images).to(torch::kFloat32).div_(255.0F); }

torch::Tensor labels_tensor(const std::vector<int64_t>& labels) {
  return torch::from_blob(const_cast<int64_t*>(labels.data()), {static_cast<int64_t>(labels.size())}, torch::kInt64)
      .clone();
}

// `set` itself when per_class is 0 (no copy), else the per-class subset stored in `storage`.
const ImageSet& subset(const ImageSet& set, int64_t num_classes, int64_t per_class, uint64_t seed, ImageSet& storage) {
  if (per_class == 0) return set;
  storage = select(set, split_per_class(set.labels, num_classes, per_class, seed).selected);
  return storage;
}

}  // namespace

Normalizer::Normalizer(Normalization kind, const torch::Tensor& x) : kind_(kind) {
  const torch::NoGradGuard no_grad;
  const int64_t c = x.size(1);
  switch (kind) {
    case Normalization::kNone:
      mean_ = torch::zeros({1, c, 1, 1});
      inv_std_ = torch::ones({1, c, 1, 1});
      break;
    case Normalization::kPerPixelMean:  // the reference: x/255 - mean over the training set per pixel
      mean_ = x.mean(0, /*keepdim=*/true);
      inv_std_ = torch::ones({1, c, 1, 1});
      break;
    case Normalization::kPerChannel:
      mean_ = x.mean({0, 2, 3}, /*keepdim=*/true);
      inv_std_ = x.std({0, 2, 3}, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-6).reciprocal();
      break;
  }
}

torch::Tensor Normalizer::apply(const ImageSet& images) const {
  torch::Tensor x = to_unit_float(images);
  apply_(x);
  return x;
}

void Normalizer::apply_(torch::Tensor& x) const {
  const torch::NoGradGuard no_grad;
  if (kind_ == Normalization::kNone) return;
  x.sub_(mean_);
  if (kind_ == Normalization::kPerChannel) x.mul_(inv_std_);
}

torch::Tensor Normalizer::to_pixels(const torch::Tensor& x) const { return x / inv_std_.to(x.device()) + mean_.to(x.device()); }

torch::Tensor Normalizer::from_pixels(const torch::Tensor& pixels) const {
  return (pixels - mean_.to(pixels.device())) * inv_std_.to(pixels.device());
}

std::vector<int64_t> Split::label_vector() const {
  const torch::Tensor l = labels.contiguous();
  return {l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel()};
}

size_t Dataset::bytes() const {
  size_t total = 0;
  for (const auto* t : {&train.images, &train.labels, &test.images, &test.labels})
    total += static_cast<size_t>(t->numel()) * t->element_size();
  return total;
}

Dataset prepare_dataset(const RawDataset& raw, const DatasetSpec& spec) {
  Dataset ds;
  ds.name = raw.name;
  ds.source = raw.source;
  ds.shape = raw.train.shape;
  ds.num_classes = raw.num_classes;
  ds.class_names = raw.class_names;
  ImageSet train_storage, test_storage;
  const ImageSet& train = subset(raw.train, raw.num_classes, spec.train_per_class, spec.subset_seed, train_storage);
  const ImageSet& test = subset(raw.test, raw.num_classes, spec.test_per_class, spec.subset_seed + 1, test_storage);
  torch::Tensor train_images = to_unit_float(train);  // converted once: statistics, then in place
  ds.normalizer = Normalizer(spec.normalization, train_images);
  ds.normalizer.apply_(train_images);
  ds.augment = spec.augment;
  ds.train = Split{train_images, labels_tensor(train.labels)};
  ds.test = Split{ds.normalizer.apply(test), labels_tensor(test.labels)};
  return ds;
}

Batcher::Batcher(const Split& split, const AugmentOptions& augment, uint64_t seed, torch::Device device)
    : split_(split), augment_(augment), rng_(seed), device_(device) {}

Batch Batcher::gather(const std::vector<int64_t>& indices) {
  return to_device(gather_on_cpu(indices, draw_transforms(indices.size())));
}

Batch Batcher::gather_share(const std::vector<int64_t>& indices, const std::vector<size_t>& positions) {
  const std::vector<Transform> all = draw_transforms(indices.size());  // the whole batch's draws: rows stay aligned
  std::vector<int64_t> mine;
  std::vector<Transform> transforms;
  for (const size_t p : positions) {
    mine.push_back(indices.at(p));
    if (!all.empty()) transforms.push_back(all[p]);
  }
  return to_device(gather_on_cpu(mine, transforms));
}

std::string Batcher::state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void Batcher::restore(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 rng;
  if (!(in >> rng)) throw DataError("augmentation state: not a generator state");
  rng_ = rng;
}

Batch Batcher::to_device(Batch batch) const {
  if (device_.is_cpu()) return batch;
  // Pinned staging lets the copy run asynchronously with respect to the host (the step queues behind it).
  return {batch.x.pin_memory().to(device_, /*non_blocking=*/true), batch.y.pin_memory().to(device_, /*non_blocking=*/true)};
}

std::vector<Batcher::Transform> Batcher::draw_transforms(size_t rows) {
  std::vector<Transform> transforms;
  if (!augment_.enabled()) return transforms;
  const int64_t h = split_.images.size(2), w = split_.images.size(3);
  const auto max_dy = static_cast<int64_t>(augment_.shift * static_cast<double>(h));
  const auto max_dx = static_cast<int64_t>(augment_.shift * static_cast<double>(w));
  std::uniform_int_distribution<int64_t> dy_dist(-max_dy, max_dy), dx_dist(-max_dx, max_dx);
  std::bernoulli_distribution flip_dist(augment_.flip ? 0.5 : 0.0);
  for (size_t k = 0; k < rows; ++k) {
    Transform t;
    t.dy = dy_dist(rng_);
    t.dx = dx_dist(rng_);
    t.flip = flip_dist(rng_);
    transforms.push_back(t);
  }
  return transforms;
}

Batch Batcher::gather_on_cpu(const std::vector<int64_t>& indices, const std::vector<Transform>& transforms) {
  const auto b = static_cast<int64_t>(indices.size());
  const torch::Tensor idx = torch::from_blob(const_cast<int64_t*>(indices.data()), {b}, torch::kInt64);
  Batch batch{torch::Tensor(), split_.labels.index_select(0, idx)};
  if (transforms.empty()) {
    batch.x = split_.images.index_select(0, idx);  // one gather-copy
    return batch;
  }
  const auto& src = split_.images;
  const int64_t c = src.size(1), h = src.size(2), w = src.size(3);
  batch.x = torch::empty({b, c, h, w}, src.options());
  const float* in = src.data_ptr<float>();
  float* out = batch.x.data_ptr<float>();
  for (int64_t k = 0; k < b; ++k) {
    const auto [dy, dx, flip] = transforms[static_cast<size_t>(k)];
    const float* img = in + indices[static_cast<size_t>(k)] * c * h * w;
    float* dst = out + k * c * h * w;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y) {
        const int64_t sy = std::clamp<int64_t>(y - dy, 0, h - 1);
        for (int64_t x = 0; x < w; ++x) {
          const int64_t tx = flip ? w - 1 - x : x;  // flip after the shift
          const int64_t sx = std::clamp<int64_t>(tx - dx, 0, w - 1);
          dst[(ch * h + y) * w + x] = img[(ch * h + sy) * w + sx];
        }
      }
  }
  return batch;
}

}  // namespace signsweep::workers
