#include "workers/evaluation/verification.h"

namespace signsweep::workers {

core::WatermarkReading reading_of(const VerificationReport& v) {
  core::WatermarkReading r;
  r.bits = v.bits;
  r.significance = v.significance;
  if (v.white_box) {
    r.ber_white_box = v.ber_white_box;
    r.mean_repeat_ber = v.mean_repeat_ber_test;
    r.p_value = v.p_value;
    r.owned = v.owned;
  }
  for (const RemoteReading& rr : v.remote) r.ber_remote[rr.h] = rr.ber;
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
