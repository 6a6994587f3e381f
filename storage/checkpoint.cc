#include "storage/checkpoint.h"

#include <filesystem>
#include <string_view>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/hash.h"
#include "storage/h5.h"
#include "storage/sealed_file.h"

namespace signsweep::storage {
namespace {

void write_array(File& f, const std::string& path, const Array& a) {
  if (a.is_int) f.write(path, a.shape, a.i64.data());
  else f.write(path, a.shape, a.f32.data());
}

Array read_array(const File& f, const std::string& path, bool is_int) {
  Array a;
  a.shape = f.shape(path);
  a.is_int = is_int;
  if (is_int) a.i64 = f.read_int64s(path);
  else a.f32 = f.read_floats(path);
  return a;
}

// Integer buffers (BatchNorm's num_batches_tracked) are marked by an attribute on the dataset.
void write_named(File& f, const std::string& group, const std::vector<std::pair<std::string, Array>>& arrays) {
  for (const auto& [name, a] : arrays) {
    write_array(f, group + "/" + name, a);
    f.set_attribute(group + "/" + name, "integer", int64_t{a.is_int ? 1 : 0});
  }
}

std::vector<std::pair<std::string, Array>> read_named(const File& f, const std::string& group) {
  std::vector<std::pair<std::string, Array>> out;
  if (!f.exists(group)) return out;
  for (const auto& name : f.list(group)) {
    const std::string p = group + "/" + name;
    out.emplace_back(name, read_array(f, p, f.has_attribute(p, "integer") && f.int_attribute(p, "integer") != 0));
  }
  return out;
}

// A checkpoint's bytes match the SHA-256 it was written with (CorruptFile otherwise); checkpoints written before
// sealing start with HDF5's own signature and are read unchecked.
void check_sealed(const std::string& path) {
  if (!std::filesystem::exists(path)) return;  // File says so, naming it
  static constexpr std::string_view kHdf5Signature{"\x89HDF\r\n\x1a\n", 8};
  checked_content_offset(path, common::read_file_bytes(path), kHdf5Signature, "an HDF5 file");
}

}  // namespace

int64_t Array::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  write_atomically(path, [&](File& f) {
    f.set_attribute("/", "format", std::string(kCheckpointFormat));
    f.set_attribute("/", "format_version", kCheckpointVersion);
    f.set_attribute("/", "model", c.model);
    f.set_attribute("/", "created_by", c.created_by);
    if (!c.origin.empty()) f.set_attribute("/", "origin", c.origin);
    f.write_string("/config", c.config_yaml);
    write_named(f, "/model/parameters", c.parameters);
    write_named(f, "/model/buffers", c.buffers);
    write_array(f, "/data/mean", c.mean);
    write_array(f, "/data/inv_std", c.inv_std);
    f.set_attribute("/data", "dataset", c.dataset);
    f.write("/data/input_shape", {static_cast<int64_t>(c.input_shape.size())}, c.input_shape.data());
    f.set_attribute("/data", "num_classes", c.num_classes);
    f.set_attribute("/data", "normalization", c.normalization);
    if (c.has_watermark) {
      const WatermarkRecord& w = c.watermark;
      const auto n = static_cast<int64_t>(w.signature.size()), k = static_cast<int64_t>(w.carriers.size());
      f.write("/watermark/signature", {n}, w.signature.data());
      f.write("/watermark/carriers", {k}, w.carriers.data());
      const auto key_size = static_cast<int64_t>(w.key.size());  // written as it is; load validates it
      f.write("/watermark/key", n > 0 && key_size % n == 0 ? std::vector<int64_t>{n, key_size / n} : std::vector<int64_t>{key_size},
              w.key.data());
      f.set_attribute("/watermark", "scheme", w.scheme);
      f.set_attribute("/watermark", "target_class", w.target_class);
      f.set_attribute("/watermark", "flatten", w.flatten);
      f.set_attribute("/watermark", "seed", static_cast<int64_t>(w.seed));
      f.set_attribute("/watermark", "lambda", w.lambda);
      if (!w.layer.empty()) f.set_attribute("/watermark", "layer", w.layer);
    }
    for (const auto& [name, value] : c.metrics) f.set_attribute("/metrics", name, value);
  }, /*durable=*/true, /*sealed=*/true);
}

Checkpoint load_checkpoint(const std::string& path) {
  check_sealed(path);
  const File f(path, OpenMode::kReadOnly);
  if (!f.has_attribute("/", "format") || f.string_attribute("/", "format") != kCheckpointFormat)
    throw DataError(fmt::format("{}: not a signsweep checkpoint (no /format = \"{}\" attribute). HINT: models from "
                                "Keras are imported with `signsweep verify --keras`", path, kCheckpointFormat));
  const int64_t version = f.int_attribute("/", "format_version");
  if (version != kCheckpointVersion)
    throw DataError(fmt::format("{}: checkpoint format version {} but this signsweep reads version {}. HINT: use the "
                                "signsweep that wrote it (created_by = {})", path, version, kCheckpointVersion,
                                f.string_attribute("/", "created_by")));
  try {
    Checkpoint c;
    c.model = f.string_attribute("/", "model");
    c.created_by = f.string_attribute("/", "created_by");
    if (f.has_attribute("/", "origin")) c.origin = f.string_attribute("/", "origin");
    c.config_yaml = f.read_string("/config");
    c.parameters = read_named(f, "/model/parameters");
    c.buffers = read_named(f, "/model/buffers");
    c.mean = read_array(f, "/data/mean", false);
    c.inv_std = read_array(f, "/data/inv_std", false);
    c.dataset = f.string_attribute("/data", "dataset");
    c.input_shape = f.read_int64s("/data/input_shape");
    c.num_classes = f.int_attribute("/data", "num_classes");
    c.normalization = f.string_attribute("/data", "normalization");
    c.has_watermark = f.exists("/watermark");
    if (c.has_watermark) {
      WatermarkRecord& w = c.watermark;
      w.signature = f.read_int64s("/watermark/signature");
      w.carriers = f.read_int64s("/watermark/carriers");
      w.key = f.read_floats("/watermark/key");
      w.scheme = f.string_attribute("/watermark", "scheme");
      w.target_class = f.int_attribute("/watermark", "target_class");
      w.flatten = f.string_attribute("/watermark", "flatten");
      w.seed = static_cast<uint64_t>(f.int_attribute("/watermark", "seed"));
      w.lambda = f.double_attribute("/watermark", "lambda");
      if (f.has_attribute("/watermark", "layer")) w.layer = f.string_attribute("/watermark", "layer");
    }
    if (f.exists("/metrics"))
      for (const auto& name : f.attribute_names("/metrics")) c.metrics[name] = f.double_attribute("/metrics", name);
    return c;
  } catch (const DataError& e) {  // opened read-only: what HDF5 cannot read in it is bad input
    throw DataError(fmt::format("{}: incomplete or corrupt checkpoint: {}", path, e.what()));
  }
}

}  // namespace signsweep::storage
