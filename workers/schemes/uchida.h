// Uchida et al. 2017, the weight-watermark baseline: the signature lives in one convolution layer's
// kernel averaged over its output filters, w = mean_o W[o] flattened to D = in*kh*kw values;
// bits = [X w >= 0] with a Gaussian key X (N x D); training term sum_j BCE(sigmoid((X w)_j), b_j) (with logits; summed over the
// bits as Uchida's code does, so lambda 0.01..0.1 is on the paper's scale).
// Its capacity is bounded by D, it needs no input gradient, and it cannot be read through an API.
// Thread-safety: immutable after construction.
#pragma once

#include <string>

#include "workers/schemes/scheme.h"

namespace signsweep::workers {

struct UchidaSecrets {
  std::vector<int64_t> signature;  // N bits
  std::vector<float> key;          // N x D, row-major, N(0, 1)
  std::string layer;               // the conv kernel parameter, e.g. "convs.1.weight"
  uint64_t seed = 0;
};

// The default layer: the middle 4-D parameter in registration order (Uchida embeds in a middle layer).
std::string default_uchida_layer(ClassifierImpl& model);
// The flattened mean-kernel length D of `layer`; throws ConfigError when it is not a conv kernel of `model`.
int64_t uchida_layer_size(ClassifierImpl& model, const std::string& layer);

UchidaSecrets generate_uchida_secrets(int64_t bits, int64_t layer_size, const std::string& layer, uint64_t seed);

class Uchida : public WatermarkScheme {
 public:
  // Throws DataError when the key does not fit the layer of `model` (e.g. a checkpoint of another model).
  Uchida(UchidaSecrets secrets, ClassifierImpl& model, double lambda);

  const char* name() const override { return core::to_string(core::SchemeKind::kUchida); }
  double lambda() const override { return lambda_; }
  const std::vector<int64_t>& signature() const override { return secrets_.signature; }
  torch::Tensor training_term(ClassifierImpl& model, const torch::Tensor& x, const torch::Tensor& y,
                              const torch::Tensor& ce_sum) const override;
  Extraction read_white_box(ClassifierImpl& model, const torch::Tensor& pool, int64_t images_per_repeat, int64_t repeats,
                            uint64_t seed) const override;
  storage::WatermarkRecord record() const override;

  // X w for `model`'s layer: the N projection logits.
  torch::Tensor projection(ClassifierImpl& model) const;

 private:
  UchidaSecrets secrets_;
  double lambda_;
  torch::Tensor key_;        // [N, D]
  torch::Tensor signature_;  // [N] float
};

}  // namespace signsweep::workers
