// CIFAR-10 "binary version" reader: each record is 1 label byte then 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, row-major), i.e. already CHW.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/errors.h"
#include "workers/data/loaders.h"

namespace signsweep::workers {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kImageBytes = 3 * kSide * kSide;
constexpr int64_t kRecordBytes = 1 + kImageBytes;
constexpr int64_t kClasses = 10;

std::vector<std::string> cifar10_class_names(const std::string& dir) {
  // batches.meta.txt ships with the binary version: one class name per line.
  std::ifstream meta(std::filesystem::path(dir) / "batches.meta.txt");
  std::vector<std::string> names;
  for (std::string line; meta && std::getline(meta, line);)
    if (!line.empty()) names.push_back(line);
  if (names.size() == static_cast<size_t>(kClasses)) return names;
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

void append_batch(const std::string& path, ImageSet& set) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open CIFAR-10 batch file", path));
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  if (size == 0 || size % kRecordBytes != 0)
    throw DataError(fmt::format("{}: size {} bytes is not a whole number of {}-byte CIFAR-10 records "
                                "(record {} is incomplete)", path, size, kRecordBytes, size / kRecordBytes));
  const int64_t n = size / kRecordBytes;
  std::vector<uint8_t> raw(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(raw.data()), size))
    throw DataError(fmt::format("{}: read failed after {} bytes", path, in.gcount()));
  const size_t base = set.pixels.size();
  set.pixels.resize(base + static_cast<size_t>(n * kImageBytes));
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* rec = raw.data() + r * kRecordBytes;
    if (rec[0] >= kClasses)
      throw DataError(fmt::format("{}: label {} of record {} (offset {}) is out of range [0, {})", path, rec[0], r,
                                  r * kRecordBytes, kClasses));
    set.labels.push_back(rec[0]);
    std::copy(rec + 1, rec + kRecordBytes, set.pixels.begin() + static_cast<std::ptrdiff_t>(base + r * kImageBytes));
  }
}

}  // namespace

ImageSet read_cifar10_batch(const std::string& path) {
  ImageSet set;
  set.shape = ImageShape{3, kSide, kSide};
  append_batch(path, set);
  return set;
}

RawDataset load_cifar10_binary(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw DataError(fmt::format("{}: cifar10 directory not found", dir));
  RawDataset ds;
  ds.name = "cifar10";
  ds.source = dir;
  ds.num_classes = kClasses;
  ds.class_names = cifar10_class_names(dir);
  ds.train.shape = ds.test.shape = ImageShape{3, kSide, kSide};
  for (int b = 1; b <= 5; ++b) append_batch((fs::path(dir) / fmt::format("data_batch_{}.bin", b)).string(), ds.train);
  append_batch((fs::path(dir) / "test_batch.bin").string(), ds.test);
  return ds;
}

}  // namespace signsweep::workers
