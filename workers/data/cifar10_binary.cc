// CIFAR-10 "binary version" reader: each record is 1 label byte then 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, row-major), i.e. already CHW.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"
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

// The number of records of a batch file (its size must be a whole number of records).
int64_t record_count(const std::string& path) {
  std::error_code ec;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  if (ec) throw DataError(fmt::format("{}: cannot open CIFAR-10 batch file", path));
  if (size == 0 || size % kRecordBytes != 0)
    throw DataError(fmt::format("{}: size {} bytes is not a whole number of {}-byte CIFAR-10 records "
                                "(record {} is incomplete)", path, size, kRecordBytes, size / kRecordBytes));
  limits::check(path, "record count", size / kRecordBytes, limits::kMaxImages);
  return size / kRecordBytes;
}

uint8_t checked_label(const std::string& path, uint8_t label, int64_t record) {
  if (label >= kClasses)
    throw DataError(fmt::format("{}: label {} of record {} (offset {}) is out of range [0, {})", path, label, record,
                                record * kRecordBytes, kClasses));
  return label;
}

void append_batch(const std::string& path, ImageSet& set) {
  const int64_t n = record_count(path);
  const int64_t size = n * kRecordBytes;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open CIFAR-10 batch file", path));
  std::vector<uint8_t> raw(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(raw.data()), size))
    throw DataError(fmt::format("{}: read failed after {} bytes", path, in.gcount()));
  const size_t base = set.pixels.size();
  set.pixels.resize(base + static_cast<size_t>(n * kImageBytes));
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* rec = raw.data() + r * kRecordBytes;
    set.labels.push_back(checked_label(path, rec[0], r));
    std::copy(rec + 1, rec + kRecordBytes, set.pixels.begin() + static_cast<std::ptrdiff_t>(base + r * kImageBytes));
  }
}

// Class counts of a batch file from its label bytes alone (one byte read per record).
void count_batch_labels(const std::string& path, std::vector<int64_t>& counts) {
  const int64_t n = record_count(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open CIFAR-10 batch file", path));
  for (int64_t r = 0; r < n; ++r) {
    char label = 0;
    if (!in.seekg(r * kRecordBytes).read(&label, 1))
      throw DataError(fmt::format("{}: read failed at record {}", path, r));
    ++counts[checked_label(path, static_cast<uint8_t>(label), r)];
  }
}

std::string batch_path(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

const std::vector<std::string>& train_batches() {
  static const std::vector<std::string> names{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                              "data_batch_4.bin", "data_batch_5.bin"};
  return names;
}

void require_directory(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw DataError(fmt::format("{}: cifar10 directory not found", dir));
}

}  // namespace

DataShape probe_cifar10_binary(const std::string& dir) {
  require_directory(dir);
  DataShape d;
  d.shape = ImageShape{3, kSide, kSide};
  d.num_classes = kClasses;
  d.train_per_class.assign(kClasses, 0);
  d.test_per_class.assign(kClasses, 0);
  for (const std::string& b : train_batches()) count_batch_labels(batch_path(dir, b), d.train_per_class);
  count_batch_labels(batch_path(dir, "test_batch.bin"), d.test_per_class);
  return d;
}

ImageSet read_cifar10_batch(const std::string& path) {
  ImageSet set;
  set.shape = ImageShape{3, kSide, kSide};
  append_batch(path, set);
  return set;
}

RawDataset load_cifar10_binary(const std::string& dir) {
  require_directory(dir);
  RawDataset ds;
  ds.name = "cifar10";
  ds.source = dir;
  ds.num_classes = kClasses;
  ds.class_names = cifar10_class_names(dir);
  ds.train.shape = ds.test.shape = ImageShape{3, kSide, kSide};
  for (const std::string& b : train_batches()) append_batch(batch_path(dir, b), ds.train);
  append_batch(batch_path(dir, "test_batch.bin"), ds.test);
  return ds;
}

}  // namespace signsweep::workers
