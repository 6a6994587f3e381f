#include "report/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <boost/math/distributions/binomial.hpp>

#include "common/errors.h"

namespace signsweep::report {

namespace {

constexpr int64_t kExactResamples = 100'000;
constexpr int kDrawnResamples = 20'000;

// The smallest resample mean whose cumulative share reaches q (the inverse of the empirical distribution).
double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Every resample of `values` with replacement (n^n of them), by its mean.
std::vector<double> every_resample_mean(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> pick(n, 0);
  std::vector<double> means;
  while (true) {
    double sum = 0.0;
    for (const size_t i : pick) sum += values[i];
    means.push_back(sum / static_cast<double>(n));
    size_t digit = 0;  // the next index tuple, as an n-digit number in base n
    while (digit < n && ++pick[digit] == n) pick[digit++] = 0;
    if (digit == n) return means;
  }
}

std::vector<double> drawn_resample_means(const std::vector<double>& values) {
  std::mt19937_64 random(0x5157ea9u);  // fixed: a report is reproducible
  std::uniform_int_distribution<size_t> index(0, values.size() - 1);
  std::vector<double> means;
  means.reserve(kDrawnResamples);
  for (int b = 0; b < kDrawnResamples; ++b) {
    double sum = 0.0;
    for (size_t i = 0; i < values.size(); ++i) sum += values[index(random)];
    means.push_back(sum / static_cast<double>(values.size()));
  }
  return means;
}

}  // namespace

Interval clopper_pearson(double k, int64_t n, double confidence) {
  const auto trials = static_cast<double>(n);
  if (n < 1 || !(k >= 0.0) || k > trials) throw Error("clopper_pearson: needs 0 <= k <= n and n >= 1");
  using boost::math::binomial_distribution;
  const double alpha = (1.0 - confidence) / 2.0;
  return {k == 0.0 ? 0.0 : binomial_distribution<double>::find_lower_bound_on_p(trials, k, alpha),
          k == trials ? 1.0 : binomial_distribution<double>::find_upper_bound_on_p(trials, k, alpha)};
}

Interval bootstrap_mean(const std::vector<double>& values, double confidence) {
  if (values.size() < 2) throw Error("bootstrap_mean: needs two values or more");
  const double n = static_cast<double>(values.size());
  std::vector<double> means =
      std::pow(n, n) <= static_cast<double>(kExactResamples) ? every_resample_mean(values) : drawn_resample_means(values);
  std::sort(means.begin(), means.end());
  const double alpha = (1.0 - confidence) / 2.0;
  return {quantile_of_sorted(means, alpha), quantile_of_sorted(means, 1.0 - alpha)};
}

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  if (s.n == 0) return {0, std::nan(""), std::nan(""), std::nullopt};
  double sum = 0.0;
  for (const double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) {
    s.std = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  double squares = 0.0;  // two passes: no cancellation for nearly equal values (BERs of 0)
  for (const double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(s.n - 1));
  if (s.std <= 1e-12 * std::abs(s.mean)) s.std = 0.0;  // equal runs: rounding noise in the mean is not a spread
  s.interval = bootstrap_mean(values);
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  return (*std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2.0;
}

}  // namespace signsweep::report
