#include "workers/attacks/basic_attacks.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::workers {

namespace {

void check_bits(int64_t bits) {
  if (bits < 2 || bits > 32) throw ConfigError(fmt::format("quantization bits = {}: must be in [2, 32]", bits));
}

// round(w / step) * step with step = max_abs / (2^(b-1) - 1); nothing to do when max_abs is 0.
torch::Tensor quantize_on(const torch::Tensor& w, double max_abs, int64_t bits) {
  if (max_abs == 0.0) return w.clone();
  const double step = max_abs / (std::pow(2.0, static_cast<double>(bits - 1)) - 1.0);
  return (w / step).round() * step;
}

// The layer an array belongs to: its name without the last component ("stack1.0.bn1.running_var" ->
// "stack1.0.bn1"), i.e. the module that holds it, as a Keras layer holds its kernel, bias and statistics.
std::string layer_of(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

// reference: every floating array of a layer (parameters, running mean and variance; not num_batches_tracked)
// on the layer's one step.
void quantize_layers_(ClassifierImpl& model, int64_t bits) {
  std::map<std::string, std::vector<torch::Tensor>> layers;
  for (const auto& p : model.named_parameters()) layers[layer_of(p.key())].push_back(p.value());
  for (const auto& b : model.named_buffers())
    if (b.value().is_floating_point()) layers[layer_of(b.key())].push_back(b.value());
  for (auto& [name, arrays] : layers) {
    double max_abs = 0.0;
    for (const auto& a : arrays) max_abs = std::max(max_abs, a.abs().max().item<double>());
    for (auto& a : arrays) a.copy_(quantize_on(a, max_abs, bits));
  }
}

}  // namespace

torch::Tensor quantize_tensor(const torch::Tensor& w, int64_t bits) {
  check_bits(bits);
  return quantize_on(w, w.abs().max().item<double>(), bits);
}

void quantize_model_(ClassifierImpl& model, int64_t bits, QuantizeVariant variant) {
  check_bits(bits);
  const torch::NoGradGuard no_grad;
  if (variant == QuantizeVariant::kReference) {
    quantize_layers_(model, bits);
    return;
  }
  for (auto& p : model.parameters())
    if (p.dim() >= 2) p.copy_(quantize_tensor(p, bits));  // conv and dense kernels, as pruning's
}

std::function<torch::Tensor(const torch::Tensor&)> score_rounding(int64_t decimals) {
  if (decimals < 0) throw ConfigError(fmt::format("score rounding decimals = {}: must be >= 0", decimals));
  const double scale = std::pow(10.0, static_cast<double>(decimals));
  return [scale](const torch::Tensor& p) { return (p * scale).round() / scale; };
}

std::function<torch::Tensor(const torch::Tensor&)> score_perturbation(uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](const torch::Tensor& probabilities) {
    torch::Tensor p = probabilities.clone();
    const int64_t k = p.size(1);
    if (k < 3) return p;
    const auto [sorted, order] = p.sort(1, /*descending=*/true);
    std::uniform_real_distribution<double> r_dist(0.001, 1.0);
    const torch::Tensor r = torch::empty({p.size(0)}, p.options());
    for (int64_t i = 0; i < p.size(0); ++i) r[i] = r_dist(*rng);
    const torch::Tensor gap = torch::min(sorted.select(1, 0) - sorted.select(1, 1), sorted.select(1, 2) - sorted.select(1, k - 1));
    const torch::Tensor delta = (r * (gap - 1e-5)).clamp_min(0.0);
    const torch::Tensor top = order.select(1, 0).unsqueeze(1), low = order.select(1, k - 1).unsqueeze(1);
    p.scatter_add_(1, top, -delta.unsqueeze(1));
    p.scatter_add_(1, low, delta.unsqueeze(1));
    return p;
  };
}

std::function<torch::Tensor(const torch::Tensor&)> input_noise(const Normalizer& normalizer, const ImageShape& shape,
                                                               double sigma, uint64_t seed) {
  if (!(sigma >= 0.0)) throw ConfigError(fmt::format("noise sigma = {}: must be >= 0", sigma));
  const torch::Tensor pattern =
      torch::randn({1, shape.channels, shape.height, shape.width}, torch::Generator(at::detail::createCPUGenerator(seed))) * sigma;
  return [normalizer, pattern](const torch::Tensor& x) {
    const torch::Tensor pixels = (normalizer.to_pixels(x) + pattern.to(x.device(), x.scalar_type())).clamp(0.0, 1.0);
    return normalizer.from_pixels(pixels);
  };
}

namespace {

// Zeros (in `keep`, flattened alongside `magnitudes`) the `count` entries of smallest magnitude.
void drop_smallest(const torch::Tensor& magnitudes, torch::Tensor& keep_flat, int64_t count) {
  if (count <= 0) return;
  const torch::Tensor order = std::get<1>(torch::sort(magnitudes, /*stable=*/c10::optional<bool>(true), /*dim=*/0));
  keep_flat.index_fill_(0, order.narrow(0, 0, count), 0.0);
}

}  // namespace

PruneResult prune_by_magnitude_(ClassifierImpl& model, double rate, bool layerwise) {
  if (!(rate >= 0.0 && rate < 1.0)) throw ConfigError(fmt::format("prune rate = {}: must be in [0, 1)", rate));
  const torch::NoGradGuard no_grad;
  PruneResult r;
  std::vector<torch::Tensor> kernels;
  for (const auto& p : model.named_parameters())
    if (p.value().dim() >= 2) kernels.push_back(p.value());
  for (const auto& k : kernels) r.kernel_weights += k.numel();
  std::vector<torch::Tensor> keeps;
  if (layerwise) {
    for (const auto& k : kernels) {
      torch::Tensor keep = torch::ones({k.numel()}, k.options());
      const auto count = static_cast<int64_t>(std::llround(rate * static_cast<double>(k.numel())));
      drop_smallest(k.detach().abs().reshape({-1}), keep, count);
      keeps.push_back(keep);
      r.pruned += count;
    }
  } else {
    std::vector<torch::Tensor> flat;
    for (const auto& k : kernels) flat.push_back(k.detach().abs().reshape({-1}));
    const torch::Tensor all = torch::cat(flat);
    torch::Tensor keep = torch::ones_like(all);
    r.pruned = static_cast<int64_t>(std::llround(rate * static_cast<double>(all.numel())));
    drop_smallest(all, keep, r.pruned);
    int64_t offset = 0;
    for (const auto& k : kernels) {
      keeps.push_back(keep.narrow(0, offset, k.numel()));
      offset += k.numel();
    }
  }
  for (size_t i = 0; i < kernels.size(); ++i)
    r.masks.push_back({kernels[i], keeps[i].reshape(kernels[i].sizes()).contiguous(kernels[i].suggest_memory_format())});
  apply_masks_(r.masks);
  return r;
}

void apply_masks_(const std::vector<PruneMask>& masks) {
  const torch::NoGradGuard no_grad;
  for (const auto& m : masks) m.parameter.mul_(m.keep);
}

}  // namespace signsweep::workers
