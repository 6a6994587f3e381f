// Model registry entries, the spec parser and shared model helpers.
#include <fmt/format.h>

#include "common/config.h"
#include "workers/models/classifier.h"
#include "workers/models/resnet20.h"
#include "workers/models/small_cnn.h"
#include "workers/models/model_registry.h"

namespace signsweep::workers {

ModelSpec parse_model_spec(const common::ConfigNode& node) {
  ModelSpec spec;
  spec.name = node.get<std::string>("name");
  model_registry().get(node, "name", spec.name).parse(node, spec);
  return spec;
}

Classifier build_model(const ModelSpec& spec, const ImageShape& input, int64_t num_classes) {
  const auto& entries = model_registry().entries();
  const auto it = entries.find(spec.name);
  if (it == entries.end()) throw ConfigError(fmt::format("unknown model '{}'", spec.name));
  return it->second.build(spec, input, num_classes);
}

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

void he_normal_(torch::Tensor& w) {
  const torch::NoGradGuard no_grad;
  const int64_t fan_in = w.numel() / w.size(0);  // in * kh * kw for conv [out,in,kh,kw]; in for dense [out,in]
  const double sigma = std::sqrt(2.0 / static_cast<double>(fan_in));
  w.normal_(0.0, sigma);
  for (torch::Tensor out = w.abs() > 2 * sigma; out.any().item<bool>(); out = w.abs() > 2 * sigma)
    w.masked_scatter_(out, torch::empty_like(w).normal_(0.0, sigma).masked_select(out));
}

common::Registry<ModelEntry>& model_registry() {
  static common::Registry<ModelEntry> r("model");
  return r;
}

void register_models() {
  model_registry().add(
      "resnet20", ModelEntry{"ResNet-20 v1 as the GradSigns reference (Keras)",
                             [](const common::ConfigNode&, ModelSpec&) {},
                             [](const ModelSpec&, const ImageShape& in, int64_t classes) -> Classifier {
                               return std::make_shared<ResNet20Impl>(in.channels, classes);
                             }});
  model_registry().add(
      "small-cnn",
      ModelEntry{"4 conv layers (optional BatchNorm), 2 max pools, dense: for tests and quick runs",
                 [](const common::ConfigNode& node, ModelSpec& spec) {
                   spec.batch_norm = node.get<bool>("batch_norm", true);
                   spec.width = node.get<int64_t>("width", 32);
                   node.require(spec.width >= 1 && spec.width <= 1024, "width", "must be in [1, 1024]");
                 },
                 [](const ModelSpec& spec, const ImageShape& in, int64_t classes) -> Classifier {
                   return std::make_shared<SmallCnnImpl>(in, classes, spec.width, spec.batch_norm);
                 }});
}

}  // namespace signsweep::workers
