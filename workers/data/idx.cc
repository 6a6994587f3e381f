// IDX (MNIST, Fashion-MNIST) reader. zlib's gz* functions read gzipped and plain files alike.
#include <zlib.h>

#include <array>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

class IdxReader {
 public:
  explicit IdxReader(std::string path) : path_(std::move(path)), file_(gzopen(path_.c_str(), "rb")) {
    if (!file_) throw DataError(fmt::format("{}: cannot open IDX file", path_));
    gzbuffer(file_.get(), 1 << 20);
  }
  void read(void* dst, size_t n, const char* what) {
    const int got = gzread(file_.get(), dst, static_cast<unsigned>(n));
    if (got < 0) throw DataError(fmt::format("{}: corrupt compressed data at offset {}", path_, offset_));
    if (static_cast<size_t>(got) != n)
      throw DataError(fmt::format("{}: truncated at offset {} while reading {} ({} of {} bytes)", path_,
                                  offset_ + static_cast<size_t>(got), what, got, n));
    offset_ += n;
  }
  uint32_t read_u32(const char* what) {
    std::array<unsigned char, 4> b{};
    read(b.data(), 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }
  void expect_magic(uint32_t magic) {
    const uint32_t got = read_u32("magic number");
    if (got != magic)
      throw DataError(fmt::format("{}: wrong magic number 0x{:08x} at offset 0 (expected 0x{:08x}): not an IDX {} file",
                                  path_, got, magic, magic == kImagesMagic ? "image" : "label"));
  }
  // The decompressed bytes this file can hold at most: its size when plain, deflate's largest ratio (1032:1)
  // times it when gzipped. A header that promises more is truncated: refused before anything is allocated.
  void expect_at_most_available(uint64_t bytes, const char* what) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path_, ec);
    if (ec) return;
    const uint64_t available = gzdirect(file_.get()) ? size : size * 1032;
    if (bytes > available)
      throw DataError(fmt::format("{}: header promises {} bytes of {} but the file holds at most {}: truncated or corrupt",
                                  path_, bytes, what, available));
  }
  void expect_end() {
    char extra = 0;
    if (gzread(file_.get(), &extra, 1) > 0)
      throw DataError(fmt::format("{}: unexpected data after offset {} (wrong record count in header?)", path_, offset_));
  }
  size_t offset() const { return offset_; }

 private:
  std::string path_;
  GzFile file_;
  size_t offset_ = 0;
};

// The bytes of `n` images of rows x cols from an image file's header, within signsweep's limits.
int64_t checked_pixel_bytes(const std::string& path, uint32_t n, uint32_t rows, uint32_t cols) {
  if (rows == 0 || cols == 0) throw DataError(fmt::format("{}: image size {}x{} in header", path, rows, cols));
  limits::check(path, "image count", n, limits::kMaxImages);
  limits::check(path, "image height", rows, limits::kMaxImageSide);
  limits::check(path, "image width", cols, limits::kMaxImageSide);
  const int64_t bytes = limits::saturated_product(int64_t{n}, int64_t{rows} * cols);
  limits::check(path, "pixel bytes", bytes, limits::kMaxDatasetBytes);
  return bytes;
}

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  for (const std::string& candidate : {stem + ".gz", stem}) {
    const fs::path p = fs::path(dir) / candidate;
    if (fs::exists(p)) return p.string();
  }
  throw DataError(fmt::format("{}: neither {}.gz nor {} found", (fs::path(dir) / stem).string(), stem, stem));
}

}  // namespace

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path, int64_t num_classes) {
  ImageSet set;
  IdxReader images(images_path);
  images.expect_magic(kImagesMagic);
  const uint32_t n = images.read_u32("image count");
  const uint32_t rows = images.read_u32("row count");
  const uint32_t cols = images.read_u32("column count");
  const int64_t pixel_bytes = checked_pixel_bytes(images_path, n, rows, cols);
  images.expect_at_most_available(static_cast<uint64_t>(pixel_bytes), "pixels");
  set.shape = ImageShape{1, rows, cols};
  set.pixels.resize(static_cast<size_t>(pixel_bytes));
  images.read(set.pixels.data(), set.pixels.size(), "pixels");
  images.expect_end();

  IdxReader labels(labels_path);
  labels.expect_magic(kLabelsMagic);
  const uint32_t n_labels = labels.read_u32("label count");
  if (n_labels != n)
    throw DataError(fmt::format("{}: {} labels but {} has {} images", labels_path, n_labels, images_path, n));
  labels.expect_at_most_available(n_labels, "labels");
  std::vector<uint8_t> raw(n);
  labels.read(raw.data(), raw.size(), "labels");
  labels.expect_end();
  set.labels.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (raw[i] >= num_classes)
      throw DataError(fmt::format("{}: label {} of record {} (offset {}) is out of range [0, {})", labels_path,
                                  raw[i], i, 8 + i, num_classes));
    set.labels.push_back(raw[i]);
  }
  return set;
}

namespace {

constexpr int64_t kIdxClasses = 10;

void require_directory(const std::string& dir, const std::string& name) {
  if (!std::filesystem::is_directory(dir)) throw DataError(fmt::format("{}: {} directory not found", dir, name));
}

// The image shape from an image file's header, and the class counts from its label file.
ImageShape probe_idx_split(const std::string& images_path, const std::string& labels_path, std::vector<int64_t>& counts) {
  IdxReader images(images_path);
  images.expect_magic(kImagesMagic);
  const uint32_t n = images.read_u32("image count");
  const uint32_t rows = images.read_u32("row count");
  const uint32_t cols = images.read_u32("column count");
  checked_pixel_bytes(images_path, n, rows, cols);
  IdxReader labels(labels_path);
  labels.expect_magic(kLabelsMagic);
  const uint32_t n_labels = labels.read_u32("label count");
  limits::check(labels_path, "label count", n_labels, limits::kMaxImages);
  labels.expect_at_most_available(n_labels, "labels");
  std::vector<uint8_t> raw(n_labels);
  labels.read(raw.data(), raw.size(), "labels");
  counts.assign(kIdxClasses, 0);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] >= kIdxClasses)
      throw DataError(fmt::format("{}: label {} of record {} (offset {}) is out of range [0, {})", labels_path, raw[i], i,
                                  8 + i, kIdxClasses));
    ++counts[raw[i]];
  }
  return ImageShape{1, rows, cols};
}

}  // namespace

DataShape probe_idx_dataset(const std::string& dir, const std::string& name) {
  require_directory(dir, name);
  DataShape d;
  d.num_classes = kIdxClasses;
  d.shape = probe_idx_split(find_idx_file(dir, "train-images-idx3-ubyte"), find_idx_file(dir, "train-labels-idx1-ubyte"),
                            d.train_per_class);
  probe_idx_split(find_idx_file(dir, "t10k-images-idx3-ubyte"), find_idx_file(dir, "t10k-labels-idx1-ubyte"),
                  d.test_per_class);
  return d;
}

RawDataset load_idx_dataset(const std::string& dir, const std::string& name) {
  require_directory(dir, name);
  RawDataset ds;
  ds.name = name;
  ds.source = dir;
  ds.num_classes = kIdxClasses;
  ds.train = read_idx_pair(find_idx_file(dir, "train-images-idx3-ubyte"),
                           find_idx_file(dir, "train-labels-idx1-ubyte"), ds.num_classes);
  ds.test = read_idx_pair(find_idx_file(dir, "t10k-images-idx3-ubyte"),
                          find_idx_file(dir, "t10k-labels-idx1-ubyte"), ds.num_classes);
  if (ds.train.shape != ds.test.shape)
    throw DataError(fmt::format("{}: train images are {} but test images are {}", dir, to_string(ds.train.shape),
                                to_string(ds.test.shape)));
  if (name == "fashion-mnist") {
    ds.class_names = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                      "sandal",      "shirt",   "sneaker",  "bag",   "ankle-boot"};
  } else {
    ds.class_names = numbered_class_names(ds.num_classes);
  }
  return ds;
}

}  // namespace signsweep::workers
