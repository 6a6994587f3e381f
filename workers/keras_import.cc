#include "workers/keras_import.h"

#include <filesystem>

#include <fmt/format.h>

#include "common/errors.h"
#include "storage/foreign.h"
#include "storage/npy.h"

namespace signsweep::workers {
namespace {

constexpr int kConvs = 21, kBatchNorms = 19;

// Our module paths in Keras' creation order: stem, then per block conv1, conv2 (+ shortcut after them).
std::vector<std::string> conv_paths_in_keras_order() {
  std::vector<std::string> paths{"conv0"};
  for (int s = 1; s <= 3; ++s)
    for (int b = 1; b <= 3; ++b) {
      const std::string block = fmt::format("blocks.stack{}_block{}.", s, b);
      paths.push_back(block + "conv1");
      paths.push_back(block + "conv2");
      if (s > 1 && b == 1) paths.push_back(block + "shortcut");
    }
  return paths;
}

std::vector<std::string> bn_paths_in_keras_order() {
  std::vector<std::string> paths{"bn0"};
  for (int s = 1; s <= 3; ++s)
    for (int b = 1; b <= 3; ++b) {
      paths.push_back(fmt::format("blocks.stack{}_block{}.bn1", s, b));
      paths.push_back(fmt::format("blocks.stack{}_block{}.bn2", s, b));
    }
  return paths;
}

torch::Tensor tensor_of(const storage::Array& a) {
  return torch::tensor(torch::ArrayRef<float>(a.f32)).reshape(a.shape);
}

const storage::Array& weight(const storage::KerasLayer& l, const std::string& name, const std::string& path) {
  const auto it = l.weights.find(name);
  if (it == l.weights.end()) throw DataError(fmt::format("{}: layer {} has no weight '{}'", path, l.name, name));
  return it->second;
}

void assign(torch::Tensor& dst, const torch::Tensor& src, const std::string& what, const std::string& path) {
  if (dst.sizes() != src.sizes())
    throw DataError(fmt::format("{}: {} has shape {} after conversion, resnet20 expects {}", path, what,
                                fmt::join(src.sizes(), "x"), fmt::join(dst.sizes(), "x")));
  const torch::NoGradGuard no_grad;
  dst.copy_(src);
}

storage::NpyArray read_required(const std::filesystem::path& dir, const char* name) {
  const auto p = dir / name;
  if (!std::filesystem::exists(p)) throw DataError(fmt::format("{}: reference key file not found", p.string()));
  return storage::read_npy(p.string());
}

}  // namespace

ImportedModel import_keras_resnet20(const std::string& path) {
  const storage::KerasModel km = storage::read_foreign_keras_model(path);
  std::vector<const storage::KerasLayer*> convs, bns, dense;
  for (const auto& l : km.layers) {
    if (l.class_name == "Conv2D") convs.push_back(&l);
    if (l.class_name == "BatchNormalization") bns.push_back(&l);
    if (l.class_name == "Dense") dense.push_back(&l);
  }
  if (convs.size() != kConvs || bns.size() != kBatchNorms || dense.size() != 1 || km.input_shape.size() != 3)
    throw DataError(fmt::format("{}: {} Conv2D, {} BatchNormalization, {} Dense layers and input {}: not a ResNet-20 v1 "
                                "(expected 21, 19, 1 and H x W x C)", path, convs.size(), bns.size(), dense.size(),
                                fmt::join(km.input_shape, "x")));
  ImportedModel out;
  out.input_shape = ImageShape{km.input_shape[2], km.input_shape[0], km.input_shape[1]};
  out.num_classes = weight(*dense[0], "kernel", path).shape.at(1);
  out.model = build_model(ModelSpec{"resnet20"}, out.input_shape, out.num_classes);
  auto params = out.model->named_parameters();
  auto buffers = out.model->named_buffers();

  const auto conv_paths = conv_paths_in_keras_order();
  for (size_t i = 0; i < convs.size(); ++i) {
    const storage::KerasLayer& l = *convs[i];
    if (l.padding != "same") throw DataError(fmt::format("{}: {} has padding '{}', resnet20 uses 'same'", path, l.name, l.padding));
    const torch::Tensor hwio = tensor_of(weight(l, "kernel", path));
    assign(params[conv_paths[i] + ".weight"], hwio.permute({3, 2, 0, 1}).contiguous(), l.name + "/kernel", path);
    assign(params[conv_paths[i] + ".bias"], tensor_of(weight(l, "bias", path)), l.name + "/bias", path);
  }
  const auto bn_paths = bn_paths_in_keras_order();
  for (size_t i = 0; i < bns.size(); ++i) {
    const storage::KerasLayer& l = *bns[i];
    if (std::abs(l.epsilon - 1e-3) > 1e-12)
      throw DataError(fmt::format("{}: {} has epsilon {}, resnet20 uses 1e-3", path, l.name, l.epsilon));
    assign(params[bn_paths[i] + ".weight"], tensor_of(weight(l, "gamma", path)), l.name + "/gamma", path);
    assign(params[bn_paths[i] + ".bias"], tensor_of(weight(l, "beta", path)), l.name + "/beta", path);
    assign(buffers[bn_paths[i] + ".running_mean"], tensor_of(weight(l, "moving_mean", path)), l.name + "/moving_mean", path);
    assign(buffers[bn_paths[i] + ".running_var"], tensor_of(weight(l, "moving_variance", path)), l.name + "/moving_variance", path);
  }
  assign(params["fc.weight"], tensor_of(weight(*dense[0], "kernel", path)).t().contiguous(), dense[0]->name + "/kernel", path);
  assign(params["fc.bias"], tensor_of(weight(*dense[0], "bias", path)), dense[0]->name + "/bias", path);
  out.model->eval();
  return out;
}

WatermarkSecrets load_reference_secrets(const std::string& dir_name, const ImageShape& shape, int64_t num_classes,
                                        int64_t target_class) {
  const std::filesystem::path dir(dir_name);
  const storage::NpyArray wm = read_required(dir, "wm.npy");
  const storage::NpyArray key = read_required(dir, "embed_key.npy");
  const storage::NpyArray mask = read_required(dir, "grad_select.npy");
  const int64_t n = wm.numel();
  if (key.shape.size() != 2 || key.shape[0] != n)
    throw DataError(fmt::format("{}: key shape ({}) does not match the {}-bit signature in wm.npy",
                                (dir / "embed_key.npy").string(), fmt::join(key.shape, ", "), n));
  if (mask.numel() != shape.numel())
    throw DataError(fmt::format("{}: carrier mask has {} entries, the input {} has {}", (dir / "grad_select.npy").string(),
                                mask.numel(), to_string(shape), shape.numel()));
  WatermarkSecrets s;
  s.order = FlattenOrder::kNhwc;  // the reference flattens channels-last
  s.target_class = target_class;
  for (const double b : wm.values) s.signature.push_back(b >= 0.5 ? 1 : 0);
  for (int64_t i = 0; i < mask.numel(); ++i)
    if (mask.values[static_cast<size_t>(i)] != 0.0) s.carriers.push_back(i);
  if (static_cast<int64_t>(s.carriers.size()) != key.shape[1])
    throw DataError(fmt::format("{}: {} carriers in the mask but the key has {} columns", (dir / "grad_select.npy").string(),
                                s.carriers.size(), key.shape[1]));
  s.key.assign(key.values.begin(), key.values.end());
  if (std::filesystem::exists(dir / "embed_key_extended.npy")) {
    const storage::NpyArray ext = storage::read_npy((dir / "embed_key_extended.npy").string());
    const int64_t d = shape.numel(), c = key.shape[1];
    bool agrees = ext.shape == std::vector<int64_t>{n, d};
    for (int64_t row = 0; agrees && row < n; ++row)
      for (int64_t j = 0; agrees && j < c; ++j)
        agrees = ext.values[static_cast<size_t>(row * d + s.carriers[static_cast<size_t>(j)])] ==
                 key.values[static_cast<size_t>(row * c + j)];
    if (!agrees)
      throw DataError(fmt::format("{}: the extended key disagrees with embed_key.npy at the mask's carriers",
                                  (dir / "embed_key_extended.npy").string()));
  }
  validate_secrets(s, shape, num_classes, dir_name);
  return s;
}

}  // namespace signsweep::workers
