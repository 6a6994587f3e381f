// `signsweep report`: tables over a results store's axes, the paper's rows. Each row pools the trials that
// differ only in the axes named by `over` (by default trainer.seed; no axis is pooled because of its name).
// Every interval is 95% and stays in the quantity's range (report/statistics.h), shown where a row pools 2
// runs or more: a BER is the proportion of wrong bits pooled over the runs (Clopper-Pearson), a verdict the
// k of n models judged owned (Clopper-Pearson), any other figure the mean over runs (percentile bootstrap);
// p-values by their median. The Markdown names the methods above each table.
// The headline BER is the reference's mean_repeat_ber (the BER of each of R repeats of S test images,
// averaged); the BER of the projection averaged over all S x R images is a second column, named so.
//   embed     per grid point: test accuracy, BER, p-value, verification rate, remote BER at each h
//   attacks   per grid point and attack setting (settings that differ between entries are axes too):
//             accuracy and BER before/after and their paired change; for pruning and overwriting the change
//             against their baseline in the same sweep (rate 0, lambda 0: the same budget, nothing removed) and
//             pruning's accuracy before its fine-tuning; the overwriting attacker's own BER; usable k/n (accuracy
//             within the removal margin of the watermarked model's) and removed k/n (usable and not owned).
//             Attacks on the prediction API (noise, score rounding, score perturbation) leave the weights the
//             owner's: their rows give the remote BER at each finite-difference step h and no verdict
//   null      per watermark checked against null models: the empirical threshold (lowest null BER), the mean
//             null BER, the false-positive rate of the binomial verdict on the null models (Clopper-Pearson on
//             them, even for one watermark), the verdicts; warns below 30 null models
//   training  per training recipe and epoch: test accuracy and white-box bit accuracy at each epoch end
//   cost      the accuracy cost of a watermark, paired: each watermarked model minus the plain model of the
//             same recipe and seed (every axis but the watermark's)
// CSV names each column `<figure>_mean`, `_std`, `_lo`, `_hi` (means), `<figure>_mean`, `_lo`, `_hi`
// (proportions), `_median` or `_rate`, `_lo`, `_hi`; `report --plots` (report/plots.py) draws the figures
// from these CSVs, so a figure's numbers are the table's. Torch-free.
// Thread-safety: functions only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/results_store.h"

namespace signsweep::report {

using storage::ResultsStore;

struct ReportOptions {
  std::string table = "embed";                   // embed | attacks | null | training | cost
  std::string format = "md";                     // md | csv
  std::vector<std::string> over{"trainer.seed"};  // axes pooled into one row
  std::optional<double> removal_margin;  // attacks: else the sweep's removal_margin (core/vocabulary.h)
};

const std::vector<std::string>& report_tables();
// Throws ConfigError naming an unknown table or format.
std::string report_text(const ResultsStore& store, const ReportOptions& options);

}  // namespace signsweep::report
