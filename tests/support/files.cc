#include "tests/support/files.h"

#include <matio.h>
#include <png.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace signsweep::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("signsweep-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void write_maybe_gz(const std::string& path, const std::vector<uint8_t>& bytes, bool gz) {
  if (!gz) return write_bytes(path, bytes);
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

void write_idx_images(const std::string& path, int n, int rows, int cols, const std::vector<uint8_t>& pixels, bool gz) {
  std::vector<uint8_t> b;
  put_u32(b, 0x803);
  put_u32(b, static_cast<uint32_t>(n));
  put_u32(b, static_cast<uint32_t>(rows));
  put_u32(b, static_cast<uint32_t>(cols));
  b.insert(b.end(), pixels.begin(), pixels.end());
  write_maybe_gz(path, b, gz);
}

void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels, bool gz) {
  std::vector<uint8_t> b;
  put_u32(b, 0x801);
  put_u32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  write_maybe_gz(path, b, gz);
}

void write_cifar10_batch(const std::string& path, const std::vector<uint8_t>& labels, const std::vector<uint8_t>& chw) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i < labels.size(); ++i) {
    b.push_back(labels[i]);
    b.insert(b.end(), chw.begin() + static_cast<std::ptrdiff_t>(i * 3072), chw.begin() + static_cast<std::ptrdiff_t>((i + 1) * 3072));
  }
  write_bytes(path, b);
}

void write_png(const std::string& path, int height, int width, int channels, const std::vector<uint8_t>& hwc) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(width);
  img.height = static_cast<png_uint_32>(height);
  img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&img, path.c_str(), 0, hwc.data(), 0, nullptr))
    throw std::runtime_error("png write failed: " + path);
}

void write_jpeg(const std::string& path, int height, int width, int channels, const std::vector<uint8_t>& hwc) {
  tjhandle tj = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int fmt = channels == 1 ? TJPF_GRAY : TJPF_RGB;
  const int samp = channels == 1 ? TJSAMP_GRAY : TJSAMP_444;
  if (tjCompress2(tj, hwc.data(), width, 0, height, fmt, &buf, &size, samp, 100, 0) != 0)
    throw std::runtime_error("jpeg write failed: " + path);
  write_bytes(path, std::vector<uint8_t>(buf, buf + size));
  tjFree(buf);
  tjDestroy(tj);
}

std::string npy_bytes(const std::string& dict, const std::string& data, int major) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t len = header.size();
  out += static_cast<char>(len & 0xFF);
  out += static_cast<char>((len >> 8) & 0xFF);
  if (major != 1) out += std::string(2, '\0');
  return out + header + data;
}

void write_svhn_mat(const std::string& path, int h, int w, const std::vector<uint8_t>& x_colmajor, const std::vector<double>& y,
                    bool compressed) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  if (!mat) throw std::runtime_error("cannot create " + path);
  size_t xdims[4] = {static_cast<size_t>(h), static_cast<size_t>(w), 3, y.size()};
  matvar_t* x = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, xdims, const_cast<uint8_t*>(x_colmajor.data()), 0);
  size_t ydims[2] = {y.size(), 1};
  matvar_t* yv = Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, ydims, const_cast<double*>(y.data()), 0);
  const matio_compression compression = compressed ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE;
  Mat_VarWrite(mat, x, compression);
  Mat_VarWrite(mat, yv, compression);
  Mat_VarFree(x);
  Mat_VarFree(yv);
  Mat_Close(mat);
}

}  // namespace signsweep::testing
