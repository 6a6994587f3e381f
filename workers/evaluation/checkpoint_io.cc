#include "workers/evaluation/checkpoint_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/build_info.h"
#include "common/config.h"
#include "common/errors.h"
#include "storage/foreign.h"
#include "workers/watermarks/scheme_factory.h"

namespace signsweep::workers {
namespace {

storage::Array to_array(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().cpu().contiguous();
  storage::Array a;
  a.shape = c.sizes().vec();
  if (c.scalar_type() == torch::kInt64) {
    a.is_int = true;
    a.i64.assign(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
  } else {
    const torch::Tensor f = c.to(torch::kFloat32);
    a.f32.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  }
  return a;
}

torch::Tensor to_tensor(const storage::Array& a) {
  if (a.is_int) return torch::tensor(torch::ArrayRef<int64_t>(a.i64), torch::kInt64).reshape(a.shape);
  return torch::tensor(torch::ArrayRef<float>(a.f32)).reshape(a.shape);
}

using NamedArrays = std::vector<std::pair<std::string, storage::Array>>;

void copy_named(const torch::OrderedDict<std::string, torch::Tensor>& targets, const NamedArrays& arrays,
                const std::string& kind, const std::string& origin, const std::string& model_name) {
  std::map<std::string, const storage::Array*> by_name;
  for (const auto& [name, a] : arrays) by_name[name] = &a;
  const torch::NoGradGuard no_grad;
  for (const auto& item : targets) {
    const auto it = by_name.find(item.key());
    if (it == by_name.end())
      throw DataError(fmt::format("{}: {} '{}' of model {} is missing: a checkpoint of another architecture?", origin,
                                  kind, item.key(), model_name));
    const storage::Array& a = *it->second;
    if (a.shape != item.value().sizes().vec())
      throw DataError(fmt::format("{}: {} '{}' has shape [{}] but model {} expects [{}]", origin, kind, item.key(),
                                  fmt::join(a.shape, ","), model_name, fmt::join(item.value().sizes(), ",")));
    item.value().copy_(to_tensor(a));
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw DataError(fmt::format("{}: {} '{}' is not in model {}: a checkpoint of another architecture?", origin, kind,
                                by_name.begin()->first, model_name));
}

}  // namespace

void load_state_into(ClassifierImpl& model, const storage::Checkpoint& c, const std::string& origin) {
  copy_named(model.named_parameters(), c.parameters, "parameter", origin, c.model);
  copy_named(model.named_buffers(), c.buffers, "buffer", origin, c.model);
}

void save_model_checkpoint(const std::string& path, ClassifierImpl& model, const TrialConfig& config,
                           const Dataset& dataset, const WatermarkScheme* scheme,
                           const std::map<std::string, double>& metrics, const std::string& origin) {
  storage::Checkpoint c;
  c.model = config.model.name;
  c.config_yaml = config.yaml;
  c.created_by = fmt::format("signsweep {} (git {}{})", common::signsweep_version(), common::git_commit(),
                             common::git_dirty() ? ", dirty" : "");
  for (const auto& p : model.named_parameters()) c.parameters.emplace_back(p.key(), to_array(p.value()));
  for (const auto& b : model.named_buffers()) c.buffers.emplace_back(b.key(), to_array(b.value()));
  c.dataset = dataset.name;
  c.input_shape = {dataset.shape.channels, dataset.shape.height, dataset.shape.width};
  c.num_classes = dataset.num_classes;
  c.normalization = to_string(dataset.normalizer.kind());
  c.mean = to_array(dataset.normalizer.mean());
  c.inv_std = to_array(dataset.normalizer.inv_std());
  if (scheme != nullptr) {
    c.has_watermark = true;
    c.watermark = scheme->record();
  }
  c.metrics = metrics;
  c.origin = origin;
  storage::save_checkpoint(path, c);
}

LoadedModel load_model_checkpoint(const std::string& path, torch::Device device) {
  const storage::Checkpoint c = storage::load_foreign_checkpoint(path);
  LoadedModel m;
  m.config = parse_trial_config(common::ConfigNode::load_string(c.config_yaml, path + ":/config"));
  if (c.input_shape.size() != 3) throw DataError(fmt::format("{}: /data/input_shape must hold C, H, W", path));
  m.input_shape = ImageShape{c.input_shape[0], c.input_shape[1], c.input_shape[2]};
  m.num_classes = c.num_classes;
  m.model = build_model(m.config.model, m.input_shape, m.num_classes);
  load_state_into(*m.model, c, path);
  m.model->to(device);  // before the scheme: its secrets live beside the parameters
  const std::optional<Normalization> kind = normalization_from_string(c.normalization);
  if (!kind) throw DataError(fmt::format("{}: /data normalization = '{}' is not a known normalisation", path, c.normalization));
  m.normalizer = Normalizer(*kind, to_tensor(c.mean), to_tensor(c.inv_std));
  if (c.has_watermark) m.scheme = scheme_from_record(c.watermark, *m.model, m.input_shape, m.num_classes, path);
  m.metrics = c.metrics;
  return m;
}

}  // namespace signsweep::workers
