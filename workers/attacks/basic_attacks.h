// Removal attacks that need no training, as in the GradSigns reference (../shared/spec/gradsigns.md):
//  - weight quantization to b bits: w = round(w / step) * step, step = max|w| / (2^(b-1) - 1), in the two
//    variants of attack_spec.h (reference: one step per layer from the largest magnitude over all of its arrays,
//    BatchNorm statistics included; weights: conv and dense kernels only, each on its own step). "max value" in
//    the reference is read as the largest magnitude, which keeps every layer within 2^b levels;
//  - prediction-API defences the verifier must read through: score rounding to d decimals and the
//    reference's score perturbation (top-1 label and top-3 order preserved);
//  - input noise injection: one Gaussian pattern per trial added in [0,1] pixel space, clipped.
// Thread-safety: functions only; ScorePerturbation and the noise transform own their RNG.
#pragma once

#include <functional>
#include <random>

#include "workers/attacks/attack_spec.h"
#include "workers/data/dataset.h"
#include "workers/models/classifier.h"

namespace signsweep::workers {

// Magnitude pruning over the kernels (conv and dense weights: parameters of 2+ dimensions; biases and
// BatchNorm untouched): exactly round(rate * n) weights of smallest magnitude are set to zero, pooled over
// all kernels (global) or per kernel (layer-wise). The masks keep them zero while fine-tuning.
struct PruneMask {
  torch::Tensor parameter;  // the model's kernel (shares storage)
  torch::Tensor keep;       // same shape, 1 = kept, 0 = pruned
};
struct PruneResult {
  std::vector<PruneMask> masks;
  int64_t pruned = 0;  // weights set to zero
  int64_t kernel_weights = 0;
};
PruneResult prune_by_magnitude_(ClassifierImpl& model, double rate, bool layerwise);
// parameter *= keep for every mask (after each optimiser step).
void apply_masks_(const std::vector<PruneMask>& masks);

// Quantizes `model` in place as `variant` says. bits in [2, 32] (ConfigError).
void quantize_model_(ClassifierImpl& model, int64_t bits, QuantizeVariant variant);
// The formula on one tensor, on the step of its own largest magnitude (returns a new tensor).
torch::Tensor quantize_tensor(const torch::Tensor& w, int64_t bits);

// API postprocess: probabilities rounded to `decimals` decimals (>= 0).
std::function<torch::Tensor(const torch::Tensor&)> score_rounding(int64_t decimals);

// API postprocess: per query, with p sorted p1 >= p2 >= ... >= pK, moves
// r * (min(p1 - p2, p3 - pK) - 1e-5), r ~ U(0.001, 1), from the top class to the lowest (never negative).
std::function<torch::Tensor(const torch::Tensor&)> score_perturbation(uint64_t seed);

// API input transform: x -> from_pixels(clip(to_pixels(x) + pattern, 0, 1)) with one N(0, sigma^2)
// pattern of the image's shape, drawn once from `seed`: the same pattern for every input of the trial.
std::function<torch::Tensor(const torch::Tensor&)> input_noise(const Normalizer& normalizer, const ImageShape& shape,
                                                               double sigma, uint64_t seed);

}  // namespace signsweep::workers
