// `signsweep report`: tables over a results store's axes, the paper's rows. Each row pools the trials that
// differ only in the axes named by `over` (by default trainer.seed; no axis is pooled because of its name)
// and gives, per figure, the mean with the sample standard deviation (n-1) and the 95% confidence interval
// (Student's t), p-values by their median, verdicts as the fraction of models judged owned.
//   embed    per grid point: test accuracy, white-box BER, p-value, verification rate, remote BER at each h
//   attacks  per grid point and attack setting: accuracy and BER before/after; attacks on the prediction API
//            (noise, score rounding, score perturbation) leave the weights the owner's: their rows give the
//            remote BER at each finite-difference step h instead of a white-box BER
//   null     per watermark checked against null models: the empirical threshold (lowest null BER), the mean
//            null BER, the false-positive rate of the binomial verdict on the null models, the verdicts
// CSV names each column `<figure>_mean`, `_std`, `_ci95` (half-width), `_median` or `_rate`; figures drawn by
// `report --plots` (storage/plots.py) carry the same numbers. Torch-free.
// Thread-safety: functions only.
#pragma once

#include <string>
#include <vector>

#include "storage/results_store.h"

namespace signsweep::storage {

struct ReportOptions {
  std::string table = "embed";                   // embed | attacks | null
  std::string format = "md";                     // md | csv
  std::vector<std::string> over{"trainer.seed"};  // axes pooled into one row
};

const std::vector<std::string>& report_tables();
// Throws ConfigError naming an unknown table or format.
std::string report_text(const ResultsStore& store, const ReportOptions& options);

}  // namespace signsweep::storage
