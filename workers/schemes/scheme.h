// The interface every watermarking scheme implements, so that one trainer, one verifier and one attack
// suite serve them all: GradSigns (input-gradient signature, gradsigns/) and Uchida et al. 2017 (weight
// signature, uchida.h). A third scheme is one new file plus one line in scheme_factory.cc.
// Thread-safety: schemes are immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/vocabulary.h"
#include "storage/checkpoint.h"
#include "workers/models/classifier.h"

namespace signsweep::comm {
class Collective;
}

namespace signsweep::workers {

class PredictionApi;

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

  // The term in a data-parallel group of group.size() ranks, each holding its part of the group batch.
  struct GroupTerm {
    torch::Tensor value;      // the term of the whole group batch (what a log line reports)
    torch::Tensor loss_part;  // what this rank adds to its loss (before lambda): summing every rank's parameter
                              // gradient of it gives the gradient of the term on the concatenated batch
  };
  // Default: a term every rank computes identically (a weight term): the local term, counted once in the sum.
  virtual GroupTerm group_training_term(ClassifierImpl& model, const torch::Tensor& x, const torch::Tensor& y,
                                        const torch::Tensor& ce_sum, comm::Collective& group) const;

  // White-box extraction. `pool` holds images to read with (target-class images for GradSigns; weight
  // schemes ignore it), `images_per_repeat` x `repeats` draws seeded by `seed`.
  virtual Extraction read_white_box(ClassifierImpl& model, const torch::Tensor& pool, int64_t images_per_repeat,
                                    int64_t repeats, uint64_t seed) const = 0;

  // True when the watermark can be read through a prediction API (probabilities only): read_remote works.
  virtual bool readable_remotely() const { return false; }
  // Remote reading from `images` (of batch_target_class()) with finite-difference step `h`. Throws Error for
  // a scheme that cannot be read remotely.
  virtual Extraction read_remote(PredictionApi& api, const torch::Tensor& images, double h) const;

  // What a checkpoint stores to rebuild this scheme (scheme_factory.h reads it back).
  virtual storage::WatermarkRecord record() const = 0;
};

// BER of `bits` against `signature` (equal lengths).
double bit_error_rate(const std::vector<int64_t>& bits, const std::vector<int64_t>& signature);

}  // namespace signsweep::workers
