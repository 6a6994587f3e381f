// The defaults of the scheme interface (scheme.h) and what every scheme shares.
#include "workers/schemes/scheme.h"

#include <fmt/format.h>

#include "comm/collective.h"
#include "common/errors.h"

namespace signsweep::workers {

WatermarkScheme::GroupTerm WatermarkScheme::group_training_term(ClassifierImpl& model, const torch::Tensor& x,
                                                                const torch::Tensor& y, const torch::Tensor& ce_sum,
                                                                comm::Collective& group) const {
  const torch::Tensor term = training_term(model, x, y, ce_sum);
  return {term, term / static_cast<double>(group.size())};  // the same term on every rank: counted once in the sum
}

Extraction WatermarkScheme::read_remote(PredictionApi& /*api*/, const torch::Tensor& /*images*/, double /*h*/) const {
  throw Error(fmt::format("the {} watermark cannot be read through a prediction API", name()));
}

double bit_error_rate(const std::vector<int64_t>& bits, const std::vector<int64_t>& signature) {
  if (bits.size() != signature.size() || bits.empty())
    throw Error(fmt::format("bit_error_rate: {} bits read for a {}-bit signature", bits.size(), signature.size()));
  int64_t wrong = 0;
  for (size_t i = 0; i < bits.size(); ++i) wrong += bits[i] != signature[i];
  return static_cast<double>(wrong) / static_cast<double>(bits.size());
}

}  // namespace signsweep::workers
