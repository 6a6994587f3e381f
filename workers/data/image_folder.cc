// image-folder reader: root/{train,test}/<class>/*.{jpg,jpeg,png}, decoded with libjpeg-turbo and libpng
// on all cores, into one preallocated buffer (one copy per image: HWC decode -> CHW store).
#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/machine.h"
#include "common/errors.h"
#include "workers/data/loaders.h"

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

struct TjDeleter {
  void operator()(void* h) const { tjDestroy(h); }
};

Decoded decode_jpeg(const std::string& path, std::vector<unsigned char>& bytes, int64_t channels) {
  std::unique_ptr<void, TjDeleter> tj(tjInitDecompress());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (!tj || tjDecompressHeader3(tj.get(), bytes.data(), bytes.size(), &w, &h, &subsamp, &colorspace) != 0)
    throw DataError(fmt::format("{}: undecodable JPEG: {}", path, tjGetErrorStr2(tj.get())));
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

// Decodes every file into set.pixels (CHW), in parallel; the first error wins.
ImageSet decode_all(const std::vector<LabelledFile>& files, int64_t channels) {
  ImageSet set;
  const Decoded first = decode_image(files.front().path, channels);
  set.shape = ImageShape{channels, first.height, first.width};
  const int64_t plane = first.height * first.width;
  const auto numel = static_cast<size_t>(set.shape.numel());
  set.pixels.resize(files.size() * numel);
  set.labels.resize(files.size());

  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      try {
        const Decoded d = decode_image(files[i].path, channels);
        if (d.height != set.shape.height || d.width != set.shape.width)
          throw DataError(fmt::format("{}: image is {}x{} but {} is {}x{}: all images must have one size", files[i].path,
                                      d.height, d.width, files.front().path, set.shape.height, set.shape.width));
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

// The folder's splits and classes (sorted folder names of train/), checked.
struct FolderLayout {
  fs::path train_dir, test_dir;
  std::vector<std::string> classes;
};

FolderLayout folder_layout(const std::string& root, int64_t channels) {
  if (channels != 1 && channels != 3) throw DataError(fmt::format("{}: channels must be 1 or 3, not {}", root, channels));
  FolderLayout l{fs::path(root) / "train", fs::path(root) / "test", {}};
  for (const auto& d : {l.train_dir, l.test_dir})
    if (!fs::is_directory(d)) throw DataError(fmt::format("{}: directory not found (expected root/train and root/test)", d.string()));
  l.classes = sorted_subfolders(l.train_dir);
  if (l.classes.empty()) throw DataError(fmt::format("{}: no class folders", l.train_dir.string()));
  return l;
}

std::vector<int64_t> files_per_class(const std::vector<LabelledFile>& files, size_t classes) {
  std::vector<int64_t> counts(classes, 0);
  for (const LabelledFile& f : files) ++counts[static_cast<size_t>(f.label)];
  return counts;
}

}  // namespace

DataShape probe_image_folder(const std::string& root, int64_t channels) {
  const FolderLayout l = folder_layout(root, channels);
  const std::vector<LabelledFile> train = list_split(l.train_dir, l.classes);
  const Decoded first = decode_image(train.front().path, channels);
  DataShape d;
  d.shape = ImageShape{channels, first.height, first.width};
  d.num_classes = static_cast<int64_t>(l.classes.size());
  d.train_per_class = files_per_class(train, l.classes.size());
  d.test_per_class = files_per_class(list_split(l.test_dir, l.classes), l.classes.size());
  return d;
}

RawDataset load_image_folder(const std::string& root, int64_t channels, const std::string& name) {
  const FolderLayout l = folder_layout(root, channels);
  RawDataset ds;
  ds.name = name;
  ds.source = root;
  ds.class_names = l.classes;
  ds.num_classes = static_cast<int64_t>(ds.class_names.size());
  ds.train = decode_all(list_split(l.train_dir, ds.class_names), channels);
  ds.test = decode_all(list_split(l.test_dir, ds.class_names), channels);
  if (ds.train.shape != ds.test.shape)
    throw DataError(fmt::format("{}: train images are {} but test images are {}", root, to_string(ds.train.shape),
                                to_string(ds.test.shape)));
  return ds;
}

}  // namespace signsweep::workers
