// GradSigns (Aramoon et al., MLSys 2021) exactly as the reference implementation does it:
//  embedding  reg = mean_j BCE(sigmoid((K g)_j), b_j), g = mean over the batch's target-class rows of
//             d(sum_i CE_i)/dx, restricted to the carriers (double backprop: create_graph);
//  white-box  bits = [K g >= 0] with g from S target images in inference mode, R repeats;
//  remote     g_j ~ mean_s [CE(x_s + h e_j) - CE(x_s)] / h from probabilities only, CE = -log p_t.
// Deliberate differences (documented in the README): BCE with logits instead of Keras' clipped
// probabilities (numerically stable; identical away from the 1e-7 clip).
// Thread-safety: a GradSigns object is immutable after construction.
#pragma once

#include <functional>
#include <vector>

#include "workers/data/dataset.h"
#include "workers/gradsigns/secrets.h"
#include "workers/models/classifier.h"
#include "workers/schemes/scheme.h"

namespace signsweep::comm {
class Collective;
}

namespace signsweep::workers {

class GradSigns : public WatermarkScheme {
 public:
  GradSigns(WatermarkSecrets secrets, const ImageShape& shape, double lambda, torch::Device device = torch::kCPU);

  const WatermarkSecrets& secrets() const { return secrets_; }
  const char* name() const override { return core::to_string(core::SchemeKind::kGradSigns); }
  double lambda() const override { return lambda_; }
  const std::vector<int64_t>& signature() const override { return secrets_.signature; }
  std::optional<int64_t> batch_target_class() const override { return secrets_.target_class; }
  bool needs_input_gradient() const override { return true; }
  torch::Tensor training_term(ClassifierImpl& model, const torch::Tensor& x, const torch::Tensor& y,
                              const torch::Tensor& ce_sum) const override;
  Extraction read_white_box(ClassifierImpl& model, const torch::Tensor& pool, int64_t images_per_repeat, int64_t repeats,
                            uint64_t seed) const override;
  GroupTerm group_training_term(ClassifierImpl& model, const torch::Tensor& x, const torch::Tensor& y,
                                const torch::Tensor& ce_sum, comm::Collective& group) const override;
  bool readable_remotely() const override { return true; }
  Extraction read_remote(PredictionApi& api, const torch::Tensor& images, double h) const override;
  storage::WatermarkRecord record() const override;
  int64_t target_class() const { return secrets_.target_class; }
  const torch::Tensor& carrier_offsets() const { return carrier_offsets_; }  // NCHW offsets [C]

  // The sum over the rows of `input_grad` [B,C,H,W] whose label is the target, at the carriers: [C].
  // Returns it with the number of such rows (0: no target image in the batch).
  std::pair<torch::Tensor, int64_t> carrier_gradient_sum(const torch::Tensor& input_grad, const torch::Tensor& y) const;
  // K g: the N projection logits of a carrier gradient [C].
  torch::Tensor project(const torch::Tensor& carrier_grad) const;
  // The embedding term (without lambda) for a mean carrier gradient [C].
  torch::Tensor regularizer_from_carriers(const torch::Tensor& carrier_mean) const;

  // The training-step regularizer (without lambda): `x` requires grad, `ce_sum` = sum_i CE_i computed
  // from it. Keeps the graph (create_graph) so that backward reaches the parameters. Zero when the batch
  // holds no target image.
  torch::Tensor regularizer(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& ce_sum) const;
  // Data-parallel form: g is the mean carrier gradient over the target images of the whole group batch
  // (the carrier sums and counts are allreduced); its value is the group's, its gradient flows through this
  // rank's rows only, so summing parameter gradients over the group gives exactly the gradient of the
  // term on the concatenated batch (k ranks x batch B == 1 rank x batch kB).
  torch::Tensor group_regularizer(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& ce_sum,
                                  comm::Collective& group) const;

  // Bits from projection logits: 1 where K g >= 0.
  static std::vector<int64_t> bits_from_logits(const torch::Tensor& logits);

 private:
  WatermarkSecrets secrets_;
  double lambda_;
  torch::Tensor key_;              // [N, C] float
  torch::Tensor signature_;        // [N] float
  torch::Tensor carrier_offsets_;  // [C] int64, NCHW offsets within one image
};

// The `count` target-class images of `split` to verify on (first `count` in a seeded shuffle).
torch::Tensor target_images(const Split& split, int64_t target_class, int64_t count, uint64_t seed);

// White-box: for each of `repeats` draws of `images_per_repeat` target images from `pool`,
// g = mean d CE/dx in inference mode (BatchNorm running statistics), projected with K.
Extraction extract_white_box(ClassifierImpl& model, const GradSigns& gs, const torch::Tensor& pool,
                             int64_t images_per_repeat, int64_t repeats, uint64_t seed);

// A prediction API: probabilities only. `postprocess` (if set) transforms every answer (rounding,
// perturbation: the attacks issue) before the verifier sees it. With dtype float64 the model is converted
// for the duration of each query and back (exact for float32 weights); not thread-safe.
class PredictionApi {
 public:
  PredictionApi(ClassifierImpl& model, torch::ScalarType dtype = torch::kFloat32);
  torch::Tensor probabilities(const torch::Tensor& x);  // [B, classes], counts queries
  std::function<torch::Tensor(const torch::Tensor&)> transform_input;  // e.g. noise injection
  std::function<torch::Tensor(const torch::Tensor&)> postprocess;      // e.g. score rounding
  int64_t queries() const { return queries_; }

 private:
  ClassifierImpl& model_;
  torch::ScalarType dtype_;
  int64_t queries_ = 0;
};

// Remote verification: one-sided finite differences with step `h` (in the preprocessed input space) at
// every carrier of every image in `images`; (C+1)*S queries, sent in batches of at most `batch` inputs.
Extraction extract_remote(PredictionApi& api, const GradSigns& gs, const torch::Tensor& images, double h,
                          int64_t batch = 1024);

}  // namespace signsweep::workers
