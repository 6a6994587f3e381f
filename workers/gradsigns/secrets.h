// The secrets of one GradSigns watermark: signature b (N bits), carriers (C distinct coordinates of the
// flattened input), key K (N x C, uniform in [-1, 1]) and target class t, all generated from one seed.
// Flattening follows the reference (channels-last: index = (row*W + col)*channels + channel) unless
// NCHW is asked for; keys made by the reference can only be read in NHWC order. Torch-free.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workers/data/image_set.h"
#include "workers/schemes/watermark_spec.h"  // FlattenOrder

namespace signsweep::workers {

struct WatermarkSecrets {
  std::vector<int64_t> signature;  // N values in {0, 1}
  std::vector<int64_t> carriers;   // C sorted, distinct flat indices in [0, D)
  std::vector<float> key;          // N x C, row-major
  int64_t target_class = 0;
  FlattenOrder order = FlattenOrder::kNhwc;
  uint64_t seed = 0;

  int64_t bits() const { return static_cast<int64_t>(signature.size()); }
  int64_t num_carriers() const { return static_cast<int64_t>(carriers.size()); }
};

// Throws ConfigError when bits < 1, carriers < 1 or > D = shape.numel(), or target_class outside
// [0, num_classes).
WatermarkSecrets generate_secrets(int64_t bits, int64_t carriers, int64_t target_class, const ImageShape& shape,
                                  int64_t num_classes, FlattenOrder order, uint64_t seed);

// The flat index (in `order`) of input element (channel, row, col).
int64_t flat_index(const ImageShape& shape, FlattenOrder order, int64_t channel, int64_t row, int64_t col);
// Its inverse: the NCHW offset (channel*H*W + row*W + col) of flat index `index` in `order`.
int64_t nchw_offset(const ImageShape& shape, FlattenOrder order, int64_t index);

// Checks secrets against an input shape and class count (e.g. secrets read from a file).
void validate_secrets(const WatermarkSecrets& s, const ImageShape& shape, int64_t num_classes, const std::string& origin);

}  // namespace signsweep::workers
