#include "workers/gradsigns/gradsigns.h"

#include <numeric>
#include <random>

#include <fmt/format.h>

#include "comm/collective.h"
#include "common/errors.h"

namespace signsweep::workers {
namespace {

torch::Tensor long_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(torch::ArrayRef<int64_t>(v), torch::kInt64);
}

}  // namespace

GradSigns::GradSigns(WatermarkSecrets secrets, const ImageShape& shape, double lambda, torch::Device device)
    : secrets_(std::move(secrets)), lambda_(lambda) {
  const int64_t n = secrets_.bits(), c = secrets_.num_carriers();
  key_ = torch::tensor(torch::ArrayRef<float>(secrets_.key)).reshape({n, c}).to(device);
  signature_ = long_tensor(secrets_.signature).to(torch::kFloat32).to(device);
  std::vector<int64_t> offsets;
  for (const int64_t idx : secrets_.carriers) offsets.push_back(nchw_offset(shape, secrets_.order, idx));
  carrier_offsets_ = long_tensor(offsets).to(device);
}

std::pair<torch::Tensor, int64_t> GradSigns::carrier_gradient_sum(const torch::Tensor& input_grad,
                                                                  const torch::Tensor& y) const {
  const torch::Tensor rows = (y == secrets_.target_class).nonzero().squeeze(1);
  const int64_t count = rows.size(0);
  if (count == 0) return {torch::zeros({secrets_.num_carriers()}, input_grad.options()), 0};
  const torch::Tensor flat = input_grad.index_select(0, rows).reshape({count, -1});
  return {flat.index_select(1, carrier_offsets_).sum(0), count};
}

torch::Tensor GradSigns::project(const torch::Tensor& carrier_grad) const {
  return torch::mv(key_.to(carrier_grad.scalar_type()), carrier_grad);
}

torch::Tensor GradSigns::regularizer_from_carriers(const torch::Tensor& carrier_mean) const {
  return torch::binary_cross_entropy_with_logits(project(carrier_mean), signature_.to(carrier_mean.scalar_type()));
}

torch::Tensor GradSigns::regularizer(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& ce_sum) const {
  const torch::Tensor grad = torch::autograd::grad({ce_sum}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                                   /*create_graph=*/true)[0];
  const auto [sum, count] = carrier_gradient_sum(grad, y);
  if (count == 0) return torch::zeros({}, ce_sum.options());
  return regularizer_from_carriers(sum / static_cast<double>(count));
}

torch::Tensor GradSigns::group_regularizer(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& ce_sum,
                                          comm::Collective& group) const {
  const torch::Tensor grad = torch::autograd::grad({ce_sum}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                                   /*create_graph=*/true)[0];
  const auto [sum, count] = carrier_gradient_sum(grad, y);
  torch::Tensor totals = torch::cat({sum.detach().to(torch::kFloat64).cpu().reshape({-1}),
                                     torch::full({1}, static_cast<double>(count), torch::kFloat64)})
                             .contiguous();
  group.allreduce_sum(totals.data_ptr<double>(), totals.numel());
  const int64_t c = secrets_.num_carriers();
  const double total_count = totals[c].item<double>();
  if (total_count == 0.0) return torch::zeros({}, ce_sum.options());
  const torch::Tensor total_sum = totals.narrow(0, 0, c).to(sum.device(), sum.scalar_type());
  const torch::Tensor group_mean = (sum + (total_sum - sum.detach())) / total_count;
  return regularizer_from_carriers(group_mean);
}

torch::Tensor GradSigns::training_term(ClassifierImpl& /*model*/, const torch::Tensor& x, const torch::Tensor& y,
                                       const torch::Tensor& ce_sum) const {
  return regularizer(x, y, ce_sum);
}

WatermarkScheme::GroupTerm GradSigns::group_training_term(ClassifierImpl& /*model*/, const torch::Tensor& x,
                                                          const torch::Tensor& y, const torch::Tensor& ce_sum,
                                                          comm::Collective& group) const {
  const torch::Tensor term = group_regularizer(x, y, ce_sum, group);
  return {term, term};  // the group's value; its gradient flows through this rank's rows only
}

Extraction GradSigns::read_remote(PredictionApi& api, const torch::Tensor& images, double h) const {
  return extract_remote(api, *this, images, h);
}

Extraction GradSigns::read_white_box(ClassifierImpl& model, const torch::Tensor& pool, int64_t images_per_repeat,
                                     int64_t repeats, uint64_t seed) const {
  return extract_white_box(model, *this, pool, images_per_repeat, repeats, seed);
}

storage::WatermarkRecord GradSigns::record() const {
  storage::WatermarkRecord r;
  r.scheme = name();
  r.signature = secrets_.signature;
  r.carriers = secrets_.carriers;
  r.key = secrets_.key;
  r.target_class = secrets_.target_class;
  r.flatten = to_string(secrets_.order);
  r.seed = secrets_.seed;
  r.lambda = lambda_;
  return r;
}

std::vector<int64_t> GradSigns::bits_from_logits(const torch::Tensor& logits) {
  const torch::Tensor b = (logits >= 0).to(torch::kInt64).cpu().contiguous();
  return {b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + b.numel()};
}

torch::Tensor target_images(const Split& split, int64_t target_class, int64_t count, uint64_t seed) {
  std::vector<int64_t> idx;
  const auto labels = split.label_vector();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == target_class) idx.push_back(static_cast<int64_t>(i));
  if (idx.empty()) throw DataError(fmt::format("no image of target class {} to verify on", target_class));
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(std::min<size_t>(idx.size(), static_cast<size_t>(count)));
  return split.images.index_select(0, long_tensor(idx));
}

namespace {

Extraction finish_extraction(const torch::Tensor& mean_logits, double mean_repeat_ber, const GradSigns& gs) {
  Extraction e;
  e.logits = mean_logits;
  e.bits = GradSigns::bits_from_logits(mean_logits);
  e.ber = bit_error_rate(e.bits, gs.secrets().signature);
  e.mean_repeat_ber = mean_repeat_ber;
  return e;
}

}  // namespace

Extraction extract_white_box(ClassifierImpl& model, const GradSigns& gs, const torch::Tensor& images,
                             int64_t images_per_repeat, int64_t repeats, uint64_t seed) {
  const torch::Tensor pool = images.to(model.device());
  const bool was_training = model.is_training();
  model.eval();
  std::mt19937_64 rng(seed);
  const int64_t s = std::min(images_per_repeat, pool.size(0));
  std::vector<int64_t> order(static_cast<size_t>(pool.size(0)));
  std::iota(order.begin(), order.end(), 0);
  torch::Tensor logits_sum;
  double ber_sum = 0.0;
  const torch::Tensor target = torch::full({s}, gs.target_class(), torch::kInt64).to(pool.device());
  for (int64_t r = 0; r < repeats; ++r) {
    std::shuffle(order.begin(), order.end(), rng);
    const torch::Tensor idx = long_tensor({order.begin(), order.begin() + s}).to(pool.device());
    const torch::Tensor x = pool.index_select(0, idx).detach().requires_grad_(true);
    const torch::Tensor ce_sum = torch::cross_entropy_loss(model.forward(x), target, {}, at::Reduction::Sum);
    const torch::Tensor grad = torch::autograd::grad({ce_sum}, {x})[0];
    const torch::Tensor carrier_mean = gs.carrier_gradient_sum(grad, target).first / static_cast<double>(s);
    const torch::Tensor logits = gs.project(carrier_mean).detach();
    ber_sum += bit_error_rate(GradSigns::bits_from_logits(logits), gs.secrets().signature);
    logits_sum = logits_sum.defined() ? logits_sum + logits : logits;
  }
  model.train(was_training);
  return finish_extraction(logits_sum / static_cast<double>(repeats), ber_sum / static_cast<double>(repeats), gs);
}

PredictionApi::PredictionApi(ClassifierImpl& model, torch::ScalarType dtype) : model_(model), dtype_(dtype) {}

namespace {

// Runs the model in `dtype` for one query and converts it back (float32 -> float64 -> float32 is exact).
class DtypeScope {
 public:
  DtypeScope(torch::nn::Module& m, torch::ScalarType dtype) : m_(m), original_(m.parameters().front().scalar_type()) {
    if (dtype != original_) m_.to(dtype);
    changed_ = dtype != original_;
  }
  ~DtypeScope() {
    if (changed_) m_.to(original_);
  }
  DtypeScope(const DtypeScope&) = delete;
  DtypeScope& operator=(const DtypeScope&) = delete;

 private:
  torch::nn::Module& m_;
  torch::ScalarType original_;
  bool changed_ = false;
};

}  // namespace

torch::Tensor PredictionApi::probabilities(const torch::Tensor& x) {
  const torch::NoGradGuard no_grad;
  model_.eval();
  queries_ += x.size(0);
  const DtypeScope scope(model_, dtype_);
  const torch::Tensor input = transform_input ? transform_input(x.to(dtype_)) : x.to(dtype_);
  // The API answers on the caller's device: hooks and the remote extraction stay on the CPU.
  torch::Tensor p = torch::softmax(model_.forward(input.to(model_.device())), 1).to(x.device());
  return postprocess ? postprocess(p) : p;
}

Extraction extract_remote(PredictionApi& api, const GradSigns& gs, const torch::Tensor& images, double h, int64_t batch) {
  const int64_t s = images.size(0), c = gs.secrets().num_carriers();
  const int64_t per_image = c + 1;  // the image itself, then one step along each carrier
  const torch::Tensor offsets = gs.carrier_offsets().cpu();
  const torch::Tensor rows = torch::arange(1, per_image, torch::kInt64);
  torch::Tensor grad_sum = torch::zeros({c}, torch::kFloat64);
  const int64_t images_per_call = std::max<int64_t>(1, batch / per_image);
  for (int64_t start = 0; start < s; start += images_per_call) {
    const int64_t n = std::min(images_per_call, s - start);
    // [n, C+1, D]: copies of each image, the (j+1)-th with +h at carrier j.
    torch::Tensor q =
        images.narrow(0, start, n).cpu().reshape({n, 1, -1}).repeat({1, per_image, 1}).to(torch::kFloat64);
    using torch::indexing::Slice;
    q.index_put_({Slice(), rows, offsets}, q.index({Slice(), rows, offsets}) + h);  // (row j+1, carrier j) += h
    const torch::Tensor p = api.probabilities(q.reshape({n * per_image, images.size(1), images.size(2), images.size(3)}))
                                .to(torch::kFloat64)
                                .select(1, gs.target_class())
                                .reshape({n, per_image});
    const torch::Tensor ce = -p.clamp_min(1e-300).log();
    grad_sum += ((ce.narrow(1, 1, c) - ce.narrow(1, 0, 1)) / h).sum(0);
  }
  const torch::Tensor g = (grad_sum / static_cast<double>(s)).to(torch::kFloat32);
  Extraction e = finish_extraction(gs.project(g), 0.0, gs);
  e.mean_repeat_ber = e.ber;  // a single reading
  return e;
}

}  // namespace signsweep::workers
