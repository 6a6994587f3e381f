// Readers of the image formats users bring, each producing a RawDataset (see image_set.h).
// Every reader validates what it reads and throws DataError naming the file, and the offset or record
// where it applies (truncated file, wrong magic, wrong record size, label out of range, empty class
// folder, undecodable image). Torch-free.
// Thread-safety: the functions share no state; image-folder decodes on several threads internally.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workers/data/image_set.h"

namespace signsweep::workers {

// What validation needs to know of a data set without loading its images: the image shape, the class
// count and the images per class of each split, read from headers, label files and folder listings
// (a sweep checks carriers, target classes and per-class budgets against it before anything trains).
struct DataShape {
  ImageShape shape;
  int64_t num_classes = 0;
  std::vector<int64_t> train_per_class;
  std::vector<int64_t> test_per_class;
};

// MNIST / Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzipped (.gz) or not.
RawDataset load_idx_dataset(const std::string& dir, const std::string& name);
DataShape probe_idx_dataset(const std::string& dir, const std::string& name);
// One IDX image file and its label file; labels must be < num_classes.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path, int64_t num_classes);

// CIFAR-10 binary version: data_batch_1..5.bin and test_batch.bin (records of 1 label + 3072 bytes).
RawDataset load_cifar10_binary(const std::string& dir);
ImageSet read_cifar10_batch(const std::string& path);
DataShape probe_cifar10_binary(const std::string& dir);

// How an image folder becomes a data set (the `image-folder` keys).
struct ImageFolderOptions {
  int64_t channels = 3;          // 3 (RGB) or 1 (grayscale, ITU-R BT.601 luma): every image is converted
  int64_t resize_height = 0;     // both 0: keep the files' size (then every image must have one size)
  int64_t resize_width = 0;
  double test_fraction = 0.0;    // > 0: root/<class>/ split per class (seeded) instead of root/{train,test}/
  uint64_t split_seed = 0;
  int64_t max_classes = 0;       // 0: every class; K: the first K class folders in sorted order
  int64_t max_per_class = 0;     // 0: every image; K: at most K per class and folder, a seeded sample
  uint64_t sample_seed = 0;      // of the max_per_class sample
  bool resizes() const { return resize_height > 0; }
};

// root/{train,test}/<class>/*.{jpg,jpeg,png}, or root/<class>/* with a test fraction; classes are the
// sorted folder names (of train/). Resizing is bilinear with antialiasing, as PIL's Image.resize(BILINEAR):
// a triangle filter, widened by the scale factor when shrinking so that every input pixel counts.
RawDataset load_image_folder(const std::string& root, const ImageFolderOptions& options, const std::string& name);
// Lists the folders and decodes one image (for its size; the resize size when resizing).
DataShape probe_image_folder(const std::string& root, const ImageFolderOptions& options);

// One HxWxC 8-bit image resized to out_h x out_w as above (exposed for its tests).
std::vector<unsigned char> resize_bilinear(const std::vector<unsigned char>& hwc, int64_t height, int64_t width,
                                           int64_t channels, int64_t out_height, int64_t out_width);

// SVHN cropped digits: train_32x32.mat and test_32x32.mat (MATLAB v5: X uint8 32x32x3xN, y double Nx1,
// label 10 meaning digit 0).
RawDataset load_svhn(const std::string& dir);
ImageSet read_svhn_mat(const std::string& path);
DataShape probe_svhn(const std::string& dir);

struct SyntheticSpec {
  ImageShape shape{1, 8, 8};
  int64_t num_classes = 4;
  int64_t train_size = 256;
  int64_t test_size = 64;
  uint64_t seed = 0;
};
// A learnable, seeded data set: each class is a random mean image plus per-image noise.
RawDataset make_synthetic(const SyntheticSpec& spec);
DataShape probe_synthetic(const SyntheticSpec& spec);

}  // namespace signsweep::workers
