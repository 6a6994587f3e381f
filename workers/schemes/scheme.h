// The interface every watermarking scheme implements, so that one trainer, one verifier and one attack
// suite serve them all: GradSigns (input-gradient signature, gradsigns/) and Uchida et al. 2017 (weight
// signature, uchida.h). A third scheme is one new file plus one line in scheme_factory.cc.
// Thread-safety: schemes are immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/checkpoint.h"
#include "workers/models/classifier.h"

namespace signsweep::workers {

struct Extraction {
  std::vector<int64_t> bits;     // from the projection averaged over all repeats
  double ber = 0.0;              // of `bits`
  double mean_repeat_ber = 0.0;  // the reference's figure: BER of each repeat, averaged
  torch::Tensor logits;          // mean projection [N]
};

class WatermarkScheme {
 public:
  virtual ~WatermarkScheme() = default;

  virtual const char* name() const = 0;
  virtual double lambda() const = 0;
  virtual const std::vector<int64_t>& signature() const = 0;
  int64_t bits() const { return static_cast<int64_t>(signature().size()); }

  // The class whose images every training batch must contain (GradSigns' target); none for weight schemes.
  virtual std::optional<int64_t> batch_target_class() const { return std::nullopt; }
  // True when the training term differentiates through the input (x must require grad).
  virtual bool needs_input_gradient() const { return false; }

  // The training term (without lambda) for one batch: `x` (requires grad when needs_input_gradient()),
  // labels `y`, and ce_sum = sum_i CE_i computed from x. Keeps the graph so backward reaches the parameters.
  virtual torch::Tensor training_term(ClassifierImpl& model, const torch::Tensor& x, const torch::Tensor& y,
                                      const torch::Tensor& ce_sum) const = 0;

  // White-box extraction. `pool` holds images to read with (target-class images for GradSigns; weight
  // schemes ignore it), `images_per_repeat` x `repeats` draws seeded by `seed`.
  virtual Extraction read_white_box(ClassifierImpl& model, const torch::Tensor& pool, int64_t images_per_repeat,
                                    int64_t repeats, uint64_t seed) const = 0;

  // What a checkpoint stores to rebuild this scheme (scheme_factory.h reads it back).
  virtual storage::WatermarkRecord record() const = 0;
};

// BER of `bits` against `signature` (equal lengths).
double bit_error_rate(const std::vector<int64_t>& bits, const std::vector<int64_t>& signature);

}  // namespace signsweep::workers
