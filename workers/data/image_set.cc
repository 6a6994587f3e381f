#include "workers/data/image_set.h"

#include <cstring>

#include <fmt/format.h>

namespace signsweep::workers {

std::string to_string(const ImageShape& s) { return fmt::format("{}x{}x{}", s.channels, s.height, s.width); }

ImageSet select(const ImageSet& set, const std::vector<int64_t>& indices) {
  ImageSet out;
  out.shape = set.shape;
  const auto n = static_cast<size_t>(set.shape.numel());
  out.pixels.resize(indices.size() * n);
  out.labels.reserve(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    std::memcpy(out.pixels.data() + k * n, set.image(indices[k]), n);
    out.labels.push_back(set.labels[static_cast<size_t>(indices[k])]);
  }
  return out;
}

std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t num_classes) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (const int64_t l : labels) ++counts[static_cast<size_t>(l)];
  return counts;
}

std::vector<std::string> numbered_class_names(int64_t num_classes) {
  std::vector<std::string> names;
  for (int64_t c = 0; c < num_classes; ++c) names.push_back(std::to_string(c));
  return names;
}

}  // namespace signsweep::workers
