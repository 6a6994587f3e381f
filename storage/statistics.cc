#include "storage/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/students_t.hpp>

namespace signsweep::storage {

double t_quantile_975(int64_t df) {
  const boost::math::students_t_distribution<double> t(static_cast<double>(df));
  return boost::math::quantile(boost::math::complement(t, 0.025));
}

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  if (s.n == 0) return {0, std::nan(""), std::nan(""), std::nan("")};
  double sum = 0.0;
  for (const double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) {
    s.std = s.ci95 = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  double squares = 0.0;  // two passes: no cancellation for nearly equal values (BERs of 0)
  for (const double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(s.n - 1));
  if (s.std <= 1e-12 * std::abs(s.mean)) s.std = 0.0;  // equal runs: rounding noise in the mean is not a spread
  s.ci95 = t_quantile_975(s.n - 1) * s.std / std::sqrt(static_cast<double>(s.n));
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

}  // namespace signsweep::storage
