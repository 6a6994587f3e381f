#include "workers/schemes/uchida.h"

#include <random>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::workers {
namespace {

torch::Tensor find_kernel(ClassifierImpl& model, const std::string& layer) {
  for (const auto& p : model.named_parameters())
    if (p.key() == layer) {
      if (p.value().dim() != 4) throw ConfigError(fmt::format("watermark.layer = '{}': not a convolution kernel (4-D)", layer));
      return p.value();
    }
  std::string names;
  for (const auto& p : model.named_parameters())
    if (p.value().dim() == 4) names += (names.empty() ? "" : ", ") + p.key();
  throw ConfigError(fmt::format("watermark.layer = '{}': the model has no such parameter (conv kernels: {})", layer, names));
}

// mean over output filters, flattened: [in*kh*kw]
torch::Tensor mean_kernel(const torch::Tensor& w) { return w.mean(0).reshape({-1}); }

}  // namespace

std::string default_uchida_layer(ClassifierImpl& model) {
  std::vector<std::string> kernels;
  for (const auto& p : model.named_parameters())
    if (p.value().dim() == 4) kernels.push_back(p.key());
  if (kernels.empty()) throw ConfigError("watermark scheme uchida: the model has no convolution layer");
  return kernels[kernels.size() / 2];
}

int64_t uchida_layer_size(ClassifierImpl& model, const std::string& layer) {
  const torch::Tensor w = find_kernel(model, layer);
  return w.numel() / w.size(0);
}

UchidaSecrets generate_uchida_secrets(int64_t bits, int64_t layer_size, const std::string& layer, uint64_t seed) {
  if (bits < 1) throw ConfigError(fmt::format("watermark.bits = {}: must be >= 1", bits));
  UchidaSecrets s;
  s.layer = layer;
  s.seed = seed;
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  for (int64_t i = 0; i < bits; ++i) s.signature.push_back(coin(rng) ? 1 : 0);
  s.key.resize(static_cast<size_t>(bits * layer_size));
  for (float& k : s.key) k = normal(rng);
  return s;
}

Uchida::Uchida(UchidaSecrets secrets, ClassifierImpl& model, double lambda) : secrets_(std::move(secrets)), lambda_(lambda) {
  const int64_t n = static_cast<int64_t>(secrets_.signature.size());
  const int64_t d = uchida_layer_size(model, secrets_.layer);
  if (n < 1 || static_cast<int64_t>(secrets_.key.size()) != n * d)
    throw DataError(fmt::format("uchida watermark: key has {} values, expected {} bits x {} (layer '{}')",
                                secrets_.key.size(), n, d, secrets_.layer));
  key_ = torch::tensor(torch::ArrayRef<float>(secrets_.key)).reshape({n, d}).to(model.device());
  signature_ = torch::tensor(torch::ArrayRef<int64_t>(secrets_.signature), torch::kInt64).to(torch::kFloat32);
}

torch::Tensor Uchida::projection(ClassifierImpl& model) const {
  const torch::Tensor w = mean_kernel(find_kernel(model, secrets_.layer));
  return torch::mv(key_.to(w.device(), w.scalar_type()), w);
}

torch::Tensor Uchida::training_term(ClassifierImpl& model, const torch::Tensor& /*x*/, const torch::Tensor& /*y*/,
                                    const torch::Tensor& /*ce_sum*/) const {
  const torch::Tensor logits = projection(model);
  // Summed over the bits as in Uchida's code (K.sum of the binary cross-entropies), not averaged.
  return torch::binary_cross_entropy_with_logits(logits, signature_.to(logits.device(), logits.scalar_type()), {}, {},
                                                 at::Reduction::Sum);
}

Extraction Uchida::read_white_box(ClassifierImpl& model, const torch::Tensor& /*pool*/, int64_t /*images_per_repeat*/,
                                  int64_t /*repeats*/, uint64_t /*seed*/) const {
  const torch::NoGradGuard no_grad;
  Extraction e;
  e.logits = projection(model).detach().cpu();
  const torch::Tensor b = (e.logits >= 0).to(torch::kInt64).contiguous();
  e.bits.assign(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + b.numel());
  e.ber = e.mean_repeat_ber = bit_error_rate(e.bits, secrets_.signature);
  return e;
}

storage::WatermarkRecord Uchida::record() const {
  storage::WatermarkRecord r;
  r.scheme = name();
  r.signature = secrets_.signature;
  r.key = secrets_.key;
  r.layer = secrets_.layer;
  r.seed = secrets_.seed;
  r.lambda = lambda_;
  return r;
}

}  // namespace signsweep::workers
