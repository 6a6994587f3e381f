// Test helpers: a temporary directory that removes itself, and writers of small files in the exact
// official formats (IDX, CIFAR-10 binary, SVHN .mat v5, PNG, JPEG), so loaders are tested on real bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace signsweep::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(const std::string& path);
void write_text(const std::string& path, const std::string& text);

// IDX: images [n, rows, cols] uint8 (magic 0x803) and labels (magic 0x801); gzip when `gz`.
void write_idx_images(const std::string& path, int n, int rows, int cols, const std::vector<uint8_t>& pixels, bool gz);
void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels, bool gz);

// CIFAR-10 binary: records of label byte + 3072 CHW bytes.
void write_cifar10_batch(const std::string& path, const std::vector<uint8_t>& labels, const std::vector<uint8_t>& chw);

// HWC pixels (channels 1 or 3) to PNG / JPEG (quality 100).
void write_png(const std::string& path, int height, int width, int channels, const std::vector<uint8_t>& hwc);
void write_jpeg(const std::string& path, int height, int width, int channels, const std::vector<uint8_t>& hwc);

// SVHN: X uint8 [h, w, 3, n] column-major, y double [n, 1] with labels 1..10 (10 = digit 0); zlib-compressed
// variables (as MATLAB's default -v7 writes them, the released SVHN files among them) when `compressed`.
void write_svhn_mat(const std::string& path, int h, int w, const std::vector<uint8_t>& x_colmajor,
                    const std::vector<double>& y, bool compressed = false);

// A .npy file as NumPy writes it: magic, version (1, or 2 with a 4-byte header length), little-endian header
// length, the header dict padded with spaces to a multiple of 64 bytes and ended by '\n', then the raw data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1);

// The message of the E that `f` throws, or "" when it throws nothing (another exception type propagates).
template <typename E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace signsweep::testing
