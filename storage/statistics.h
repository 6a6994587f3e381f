// Summaries of repeated runs (seeds) for reports: the mean with the sample standard deviation (n-1) and
// the half-width of its 95% confidence interval (Student's t, n-1 degrees of freedom), the median (for
// p-values, whose arithmetic mean is dominated by the largest), and rates. Torch-free.
// Thread-safety: functions only.
#pragma once

#include <cstdint>
#include <vector>

namespace signsweep::storage {

struct Summary {
  int64_t n = 0;
  double mean = 0.0;
  double std = 0.0;   // sample standard deviation (n-1); NaN for n < 2
  double ci95 = 0.0;  // half-width of the 95% confidence interval of the mean; NaN for n < 2
};

Summary summarize(const std::vector<double>& values);
double median(std::vector<double> values);  // NaN when empty
// t_{0.975, df}: the two-sided 95% quantile of Student's t with `df` >= 1 degrees of freedom.
double t_quantile_975(int64_t df);

}  // namespace signsweep::storage
