// The results of a trial, typed: the one schema that turns a training, attack or null-check outcome into
// the scalars stored under /trial/results (h5py: trial["results"].attrs; export --csv: one column each; a
// checkpoint's /metrics), and reads them back for reports. Every stored name is spelt here and nowhere else:
//   test_accuracy, accuracy_before, seconds (no secret: a watermark's seed, signature, carriers and key stay in
//   the checkpoint; stores of earlier versions recorded watermark_seed, read back as a figure)
//   a watermark reading, with suffix "" (the model's, or after an attack) or "_before" (before an attack):
//     bits, ber_white_box (bits from the projection averaged over all S x R images), mean_repeat_ber (the
//     reference's BER: the BER of each of R repeats of S test images, averaged; the headline BER of reports),
//     p_value, owned (1/0, the binomial verdict at significance), significance,
//     ber_remote_h<h> (BER through the prediction API at finite-difference step h, e.g. ber_remote_h0.01)
//   a null check: null_models, null_min_ber (the empirical threshold), null_mean_ber,
//     null_false_positive_rate (the null models the binomial verdict calls owned), owned_empirically
//   any other name: a figure of one trial kind (parameters, images_per_second, pruned_weights, epochs_run...)
// An attack on the prediction API leaves the weights the owner's: its reading after has no white-box figures,
// only the remote BER at each h. Torch-free.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace signsweep::core {

// One reading of a watermark.
struct WatermarkReading {
  int64_t bits = 0;
  std::optional<double> ber_white_box;  // absent: not read white-box
  std::optional<double> p_value;
  std::optional<bool> owned;            // the binomial verdict: p_value <= significance
  double significance = 1e-6;
  std::map<double, double> ber_remote;  // finite-difference step h -> BER through the prediction API
  std::optional<double> mean_repeat_ber;  // the reference's BER (test images); absent in stores before it was kept
};

struct NullCheck {
  int64_t models = 0;
  double min_ber = 0.0;              // the empirical threshold: the owner must read below it
  double mean_ber = 0.0;
  double false_positive_rate = 0.0;  // fraction of the null models the binomial verdict judges owned
  bool owned_empirically = false;
};

struct TrialResults {
  std::optional<double> test_accuracy;    // embed: the model's; attacks: after the attack (through the API for API attacks)
  std::optional<double> accuracy_before;  // attacks
  std::optional<WatermarkReading> watermark;         // embed: the model's; attacks: after the attack
  std::optional<WatermarkReading> watermark_before;  // attacks
  std::optional<NullCheck> null_check;
  std::optional<double> seconds;  // wall time of the trial; absent until it ends
  std::map<std::string, double> figures;  // kind-specific, by name

  std::map<std::string, double> to_scalars() const;
  // The inverse of to_scalars; names it does not know become figures (stores written by later versions).
  static TrialResults from_scalars(const std::map<std::string, double>& scalars);
};

// The stored name of the remote BER at step h ("ber_remote_h0.01"), before the suffix.
std::string remote_ber_key(double h);

}  // namespace signsweep::core
