// Summaries of repeated runs (seeds) for reports, with intervals that respect the quantity's range:
//   - a proportion of counts (bits wrong of N, models judged owned of n): Clopper-Pearson's exact binomial
//     interval on the counts pooled over the runs;
//   - any other mean over runs (accuracy, a null model's BER...): the percentile bootstrap of the mean over the
//     runs, which stays inside the range of the values (in [0, 1] for a ratio);
//   - one run: no interval.
// Also the sample standard deviation (n-1) and the median (for p-values, whose mean the largest dominates).
// Torch-free. Thread-safety: functions only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace signsweep::report {

inline constexpr double kConfidence = 0.95;

struct Interval {
  double lo = 0.0;
  double hi = 0.0;
};

struct Summary {
  int64_t n = 0;
  double mean = 0.0;
  double std = 0.0;                 // sample standard deviation (n-1); NaN for n < 2
  std::optional<Interval> interval;  // none for n < 2
};

// Mean, sample std and the percentile bootstrap interval of the mean (kConfidence).
Summary summarize(const std::vector<double>& values);
// Clopper-Pearson (exact) two-sided interval of a proportion: k successes of n trials, 0 <= k <= n, n >= 1. A
// fractional k (a mean of counts) takes the beta quantiles at k, between those of its neighbouring integers.
Interval clopper_pearson(double k, int64_t n, double confidence = kConfidence);
// The percentile bootstrap interval of the mean of `values` (n >= 2): every one of the n^n resamples when
// there are at most 10^5 (n <= 6, an exact bootstrap distribution), else 20,000 drawn with a fixed seed, so
// a report is the same every time. Inside [min, max] of the values.
Interval bootstrap_mean(const std::vector<double>& values, double confidence = kConfidence);
double median(std::vector<double> values);  // NaN when empty

}  // namespace signsweep::report
