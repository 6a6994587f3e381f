#include "workers/schemes/verdict.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace signsweep::workers {

double binomial_tail_p_value(int64_t matched, int64_t bits) {
  if (matched <= 0) return 1.0;
  if (matched > bits) return 0.0;
  // log C(n, i) - n log 2, summed with log-sum-exp from the largest term.
  const double n = static_cast<double>(bits);
  std::vector<double> logs;
  for (int64_t i = matched; i <= bits; ++i) {
    const double k = static_cast<double>(i);
    logs.push_back(std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1) - n * std::log(2.0));
  }
  const double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0.0;
  for (const double l : logs) sum += std::exp(l - top);
  return std::min(1.0, std::exp(top + std::log(sum)));
}

Verdict decide(const std::vector<int64_t>& extracted, const std::vector<int64_t>& signature, double significance) {
  if (extracted.size() != signature.size()) throw std::invalid_argument("extracted and signature lengths differ");
  Verdict v;
  v.bits = static_cast<int64_t>(signature.size());
  for (size_t i = 0; i < signature.size(); ++i) v.matched += extracted[i] == signature[i];
  v.ber = v.bits > 0 ? 1.0 - static_cast<double>(v.matched) / static_cast<double>(v.bits) : 0.0;
  v.p_value = binomial_tail_p_value(v.matched, v.bits);
  v.significance = significance;
  v.owned = v.p_value <= significance;
  return v;
}

EmpiricalThreshold empirical_threshold(const std::vector<double>& null_bers) {
  if (null_bers.empty()) throw std::invalid_argument("empirical threshold: no non-watermarked model");
  EmpiricalThreshold t;
  t.models = static_cast<int64_t>(null_bers.size());
  t.min_ber = *std::min_element(null_bers.begin(), null_bers.end());
  double sum = 0.0, sq = 0.0;
  for (const double b : null_bers) sum += b;
  t.mean_ber = sum / static_cast<double>(t.models);
  for (const double b : null_bers) sq += (b - t.mean_ber) * (b - t.mean_ber);
  t.std_ber = std::sqrt(sq / static_cast<double>(t.models));
  return t;
}

}  // namespace signsweep::workers
