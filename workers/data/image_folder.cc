// image-folder reader: root/{train,test}/<class>/*.{jpg,jpeg,png}, decoded with libjpeg-turbo and libpng
// on all cores, into one preallocated buffer (one copy per image: HWC decode -> CHW store).
#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/machine.h"
#include "common/errors.h"
#include "common/limits.h"
#include "workers/data/loaders.h"
#include "workers/data/sampling.h"

namespace signsweep::workers {
namespace {

namespace fs = std::filesystem;

struct LabelledFile {
  std::string path;
  int64_t label;
};

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<LabelledFile> list_split(const fs::path& split_dir, const std::vector<std::string>& classes) {
  std::vector<LabelledFile> files;
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path class_dir = split_dir / classes[c];
    if (!fs::is_directory(class_dir))
      throw DataError(fmt::format("{}: class folder missing (train/ has it)", class_dir.string()));
    std::vector<std::string> paths;
    for (const auto& e : fs::directory_iterator(class_dir))
      if (e.is_regular_file() && is_image_file(e.path())) paths.push_back(e.path().string());
    if (paths.empty()) throw DataError(fmt::format("{}: empty class folder (no .jpg/.jpeg/.png files)", class_dir.string()));
    std::sort(paths.begin(), paths.end());
    for (auto& p : paths) files.push_back({std::move(p), static_cast<int64_t>(c)});
  }
  return files;
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open image", path));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Decoded {
  int64_t height = 0, width = 0;
  std::vector<unsigned char> hwc;  // height * width * channels
};

// A header's image size, checked against signsweep's limits before the decoded image is allocated.
void check_image_size(const std::string& path, int64_t height, int64_t width) {
  limits::check(path, "image height", height, limits::kMaxImageSide);
  limits::check(path, "image width", width, limits::kMaxImageSide);
}

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};

Decoded decode_jpeg(const std::string& path, std::vector<unsigned char>& bytes, int64_t channels) {
  std::unique_ptr<void, TjDeleter> tj(tjInitDecompress());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (!tj || tjDecompressHeader3(tj.get(), bytes.data(), bytes.size(), &w, &h, &subsamp, &colorspace) != 0)
    throw DataError(fmt::format("{}: undecodable JPEG: {}", path, tjGetErrorStr2(tj.get())));
  check_image_size(path, h, w);
  Decoded d{h, w, std::vector<unsigned char>(static_cast<size_t>(w) * h * channels)};
  const int fmt = channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(tj.get(), bytes.data(), bytes.size(), d.hwc.data(), w, 0, h, fmt, TJFLAG_ACCURATEDCT) != 0 &&
      tjGetErrorCode(tj.get()) == TJERR_FATAL)
    throw DataError(fmt::format("{}: undecodable JPEG: {}", path, tjGetErrorStr2(tj.get())));
  return d;
}

Decoded decode_png(const std::string& path, std::vector<unsigned char>& bytes, int64_t channels) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    throw DataError(fmt::format("{}: undecodable PNG: {}", path, img.message));
  img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  try {
    check_image_size(path, img.height, img.width);
  } catch (const DataError&) {
    png_image_free(&img);
    throw;
  }
  Decoded d{img.height, img.width, std::vector<unsigned char>(PNG_IMAGE_SIZE(img))};
  if (!png_image_finish_read(&img, nullptr, d.hwc.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    throw DataError(fmt::format("{}: undecodable PNG: {}", path, msg));
  }
  return d;
}

Decoded decode_image(const std::string& path, int64_t channels) {
  std::vector<unsigned char> bytes = read_file(path);
  static constexpr unsigned char kPngSig[4] = {0x89, 'P', 'N', 'G'};
  if (bytes.size() >= 4 && std::equal(kPngSig, kPngSig + 4, bytes.begin())) return decode_png(path, bytes, channels);
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) return decode_jpeg(path, bytes, channels);
  throw DataError(fmt::format("{}: undecodable image (neither a JPEG nor a PNG signature)", path));
}

// The image as the data set holds it: resized when the options say so.
Decoded prepared_image(const std::string& path, const ImageFolderOptions& o) {
  Decoded d = decode_image(path, o.channels);
  if (!o.resizes() || (d.height == o.resize_height && d.width == o.resize_width)) return d;
  d.hwc = resize_bilinear(d.hwc, d.height, d.width, o.channels, o.resize_height, o.resize_width);
  d.height = o.resize_height;
  d.width = o.resize_width;
  return d;
}

// Decodes every file into set.pixels (CHW), in parallel; the first error wins.
ImageSet decode_all(const std::vector<LabelledFile>& files, const ImageFolderOptions& o) {
  const int64_t channels = o.channels;
  ImageSet set;
  const Decoded first = prepared_image(files.front().path, o);
  set.shape = ImageShape{channels, first.height, first.width};
  const int64_t plane = first.height * first.width;
  const auto numel = static_cast<size_t>(set.shape.numel());
  const std::string& folder = files.front().path;
  limits::check(folder, "image count of its split", static_cast<int64_t>(files.size()), limits::kMaxImages);
  limits::check(folder, "decoded bytes of its split",
                limits::saturated_product(static_cast<int64_t>(files.size()), set.shape.numel()),
                limits::kMaxDatasetBytes);
  set.pixels.resize(files.size() * numel);
  set.labels.resize(files.size());

  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      try {
        const Decoded d = prepared_image(files[i].path, o);
        if (d.height != set.shape.height || d.width != set.shape.width)
          throw DataError(fmt::format("{}: image is {}x{} but {} is {}x{}: all images must have one size (or set resize: "
                                      "[H, W])", files[i].path, d.height, d.width, files.front().path, set.shape.height,
                                      set.shape.width));
        uint8_t* dst = set.pixels.data() + i * numel;
        for (int64_t p = 0; p < plane; ++p)
          for (int64_t c = 0; c < channels; ++c) dst[c * plane + p] = d.hwc[static_cast<size_t>(p * channels + c)];
        set.labels[i] = files[i].label;
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = files.size();
      }
    }
  };
  const auto n_threads = static_cast<unsigned>(std::min(8, common::usable_cores()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n_threads; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return set;
}

std::vector<int64_t> files_per_class(const std::vector<LabelledFile>& files, size_t classes) {
  std::vector<int64_t> counts(classes, 0);
  for (const LabelledFile& f : files) ++counts[static_cast<size_t>(f.label)];
  return counts;
}

// The files of each split and the classes, after the folder's layout, the split and the limits.
struct FolderListing {
  std::vector<std::string> classes;
  std::vector<LabelledFile> train, test;
};

std::vector<LabelledFile> pick(const std::vector<LabelledFile>& files, const std::vector<int64_t>& indices) {
  std::vector<LabelledFile> out;
  out.reserve(indices.size());
  for (const int64_t i : indices) out.push_back(files[static_cast<size_t>(i)]);
  return out;
}

std::vector<int64_t> labels_of(const std::vector<LabelledFile>& files) {
  std::vector<int64_t> labels;
  for (const LabelledFile& f : files) labels.push_back(f.label);
  return labels;
}

std::vector<LabelledFile> at_most_per_class(const std::vector<LabelledFile>& files, size_t classes, const ImageFolderOptions& o) {
  if (o.max_per_class == 0) return files;
  return pick(files, sample_at_most_per_class(labels_of(files), static_cast<int64_t>(classes), o.max_per_class, o.sample_seed).selected);
}

std::vector<std::string> limited_classes(const fs::path& dir, const ImageFolderOptions& o) {
  std::vector<std::string> classes = sorted_subfolders(dir);
  if (classes.empty()) throw DataError(fmt::format("{}: no class folders", dir.string()));
  if (o.max_classes > 0 && static_cast<int64_t>(classes.size()) > o.max_classes) classes.resize(static_cast<size_t>(o.max_classes));
  return classes;
}

// root/<class>/*: each class split at random (seeded) into test (round(fraction x count)) and train.
FolderListing split_listing(const fs::path& root, const ImageFolderOptions& o) {
  if (fs::is_directory(root / "train") && fs::is_directory(root / "test"))
    throw DataError(fmt::format("{}: has train/ and test/ already: split applies to a folder of class folders (remove split:)",
                                root.string()));
  FolderListing l;
  l.classes = limited_classes(root, o);
  const std::vector<LabelledFile> files = at_most_per_class(list_split(root, l.classes), l.classes.size(), o);
  const IndexSplit s = split_fraction_per_class(labels_of(files), static_cast<int64_t>(l.classes.size()), o.test_fraction, o.split_seed);
  l.test = pick(files, s.selected);
  l.train = pick(files, s.rest);
  const std::vector<int64_t> train_counts = files_per_class(l.train, l.classes.size());
  const std::vector<int64_t> test_counts = files_per_class(l.test, l.classes.size());
  for (size_t c = 0; c < l.classes.size(); ++c)
    if (train_counts[c] == 0 || test_counts[c] == 0)
      throw DataError(fmt::format("{}: {} image(s) are too few for a test fraction of {}: each split needs one", (root / l.classes[c]).string(),
                                  train_counts[c] + test_counts[c], o.test_fraction));
  return l;
}

FolderListing list_folder(const std::string& root_name, const ImageFolderOptions& o) {
  if (o.channels != 1 && o.channels != 3) throw DataError(fmt::format("{}: channels must be 1 or 3, not {}", root_name, o.channels));
  const fs::path root(root_name);
  if (!fs::is_directory(root)) throw DataError(fmt::format("{}: directory not found", root_name));
  if (o.test_fraction > 0.0) return split_listing(root, o);
  const fs::path train_dir = root / "train", test_dir = root / "test";
  for (const auto& d : {train_dir, test_dir})
    if (!fs::is_directory(d))
      throw DataError(fmt::format("{}: directory not found (expected root/train and root/test, or split: {{test_fraction: F}} "
                                  "for a folder of class folders)", d.string()));
  FolderListing l;
  l.classes = limited_classes(train_dir, o);
  l.train = at_most_per_class(list_split(train_dir, l.classes), l.classes.size(), o);
  l.test = at_most_per_class(list_split(test_dir, l.classes), l.classes.size(), o);
  return l;
}

// A triangle filter's weights along one axis, PIL's way: output i is centred at (i + 0.5) x scale in input
// coordinates; the filter's half-width is max(scale, 1), so shrinking averages every input pixel.
struct AxisWeights {
  std::vector<int64_t> first;             // first input index of each output
  std::vector<std::vector<double>> taps;  // normalised weights from `first` on
};

AxisWeights triangle_weights(int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = std::max(scale, 1.0);
  AxisWeights w;
  for (int64_t i = 0; i < out; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    const auto lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(center - support)));
    const auto hi = std::min<int64_t>(in, static_cast<int64_t>(std::ceil(center + support)));
    std::vector<double> taps;
    double sum = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      const double t = std::max(0.0, 1.0 - std::abs((static_cast<double>(j) + 0.5 - center) / support));
      taps.push_back(t);
      sum += t;
    }
    for (double& t : taps) t /= sum;
    w.first.push_back(lo);
    w.taps.push_back(std::move(taps));
  }
  return w;
}

}  // namespace

std::vector<unsigned char> resize_bilinear(const std::vector<unsigned char>& hwc, int64_t height, int64_t width,
                                           int64_t channels, int64_t out_height, int64_t out_width) {
  const AxisWeights across = triangle_weights(width, out_width), down = triangle_weights(height, out_height);
  std::vector<double> rows(static_cast<size_t>(height * out_width * channels), 0.0);  // resized along x
  for (int64_t r = 0; r < height; ++r)
    for (int64_t x = 0; x < out_width; ++x)
      for (size_t k = 0; k < across.taps[static_cast<size_t>(x)].size(); ++k) {
        const int64_t src = (r * width + across.first[static_cast<size_t>(x)] + static_cast<int64_t>(k)) * channels;
        for (int64_t c = 0; c < channels; ++c)
          rows[static_cast<size_t>((r * out_width + x) * channels + c)] +=
              across.taps[static_cast<size_t>(x)][k] * hwc[static_cast<size_t>(src + c)];
      }
  std::vector<unsigned char> out(static_cast<size_t>(out_height * out_width * channels));
  for (int64_t y = 0; y < out_height; ++y)
    for (int64_t x = 0; x < out_width; ++x)
      for (int64_t c = 0; c < channels; ++c) {
        double v = 0.0;
        for (size_t k = 0; k < down.taps[static_cast<size_t>(y)].size(); ++k)
          v += down.taps[static_cast<size_t>(y)][k] *
               rows[static_cast<size_t>(((down.first[static_cast<size_t>(y)] + static_cast<int64_t>(k)) * out_width + x) * channels + c)];
        out[static_cast<size_t>((y * out_width + x) * channels + c)] = static_cast<unsigned char>(std::clamp(std::lround(v), 0L, 255L));
      }
  return out;
}

DataShape probe_image_folder(const std::string& root, const ImageFolderOptions& o) {
  const FolderListing l = list_folder(root, o);
  if (l.train.empty()) throw DataError(fmt::format("{}: no training image", root));
  DataShape d;
  if (o.resizes()) {
    d.shape = ImageShape{o.channels, o.resize_height, o.resize_width};
  } else {
    const Decoded first = decode_image(l.train.front().path, o.channels);
    d.shape = ImageShape{o.channels, first.height, first.width};
  }
  d.num_classes = static_cast<int64_t>(l.classes.size());
  d.train_per_class = files_per_class(l.train, l.classes.size());
  d.test_per_class = files_per_class(l.test, l.classes.size());
  return d;
}

RawDataset load_image_folder(const std::string& root, const ImageFolderOptions& o, const std::string& name) {
  FolderListing l = list_folder(root, o);
  RawDataset ds;
  ds.name = name;
  ds.source = root;
  ds.class_names = std::move(l.classes);
  ds.num_classes = static_cast<int64_t>(ds.class_names.size());
  ds.train = decode_all(l.train, o);
  ds.test = decode_all(l.test, o);
  if (ds.train.shape != ds.test.shape)
    throw DataError(fmt::format("{}: train images are {} but test images are {} (or set resize: [H, W])", root,
                                to_string(ds.train.shape), to_string(ds.test.shape)));
  return ds;
}

}  // namespace signsweep::workers
