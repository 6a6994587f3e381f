// Outcomes (jobs.h) -> stored results (core/trial_results.h). Torch-free.
#include "workers/jobs.h"

namespace signsweep::workers {

core::WatermarkReading reading_of(const VerificationReport& v) {
  core::WatermarkReading r;
  r.bits = v.bits;
  r.significance = v.significance;
  if (v.white_box) {
    r.ber_white_box = v.ber_white_box;
    r.p_value = v.p_value;
    r.owned = v.owned;
  }
  for (const RemoteReading& rr : v.remote) r.ber_remote[rr.h] = rr.ber;
  return r;
}

core::TrialResults results_of(const TrainOutcome& out) {
  core::TrialResults r;
  r.test_accuracy = out.test_accuracy;
  r.seconds = out.seconds;
  r.figures = {{"images_per_second", out.images_per_second},
               {"parameters", static_cast<double>(out.parameters)},
               {"best_epoch", static_cast<double>(out.best_epoch)}};
  if (out.verification.watermarked) r.watermark = reading_of(out.verification);
  return r;
}

core::TrialResults results_of(const AttackReport& report) {
  core::TrialResults r;
  r.accuracy_before = report.accuracy_before;
  r.test_accuracy = report.accuracy_after;
  r.seconds = report.seconds;
  r.watermark_before = reading_of(report.before);
  r.watermark = reading_of(report.after);
  r.figures = report.figures;
  return r;
}

core::TrialResults null_check_results_of(const VerificationReport& v, double seconds) {
  core::TrialResults r;
  r.seconds = seconds;
  r.watermark = reading_of(v);
  r.null_check = core::NullCheck{v.null_models, v.empirical_threshold, v.null_mean_ber, v.null_false_positive_rate,
                                    v.owned_empirically};
  return r;
}

}  // namespace signsweep::workers
