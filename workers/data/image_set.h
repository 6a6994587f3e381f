// Raw images as loaded from disk: uint8 pixels in NCHW order and int64 labels, for a train and a test
// split. Torch-free so that every file-format loader compiles in a second and can be tested alone;
// dataset.h turns a RawDataset into normalised float tensors once.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace signsweep::workers {

struct ImageShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t numel() const { return channels * height * width; }
  bool operator==(const ImageShape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
};

std::string to_string(const ImageShape& s);  // "3x32x32"

struct ImageSet {
  ImageShape shape;
  std::vector<uint8_t> pixels;  // size() * shape.numel(), NCHW
  std::vector<int64_t> labels;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * shape.numel(); }
  // Memory held by the pixels and labels, in bytes.
  size_t bytes() const { return pixels.size() + labels.size() * sizeof(int64_t); }
};

struct RawDataset {
  std::string name;    // registry name, e.g. "fashion-mnist"
  std::string source;  // where it came from (a path, or the synthetic spec)
  ImageSet train;
  ImageSet test;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // num_classes entries
};

// The images at `indices`, in that order.
ImageSet select(const ImageSet& set, const std::vector<int64_t>& indices);

// Number of images of each class (labels must already be validated).
std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t num_classes);

// Default class names "0", "1", ... when a format carries none.
std::vector<std::string> numbered_class_names(int64_t num_classes);

}  // namespace signsweep::workers
