// What reading a model's watermark gives (VerificationReport) and how to ask for it (VerifyOptions), as plain
// values: the report of `verify`, of every attack (before and after) and of a training trial. Torch-free.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/trial_results.h"

namespace signsweep::workers {

struct RemoteReading {
  double h = 0.0;
  double ber = 0.0;
  int64_t queries = 0;
};

struct VerificationReport {
  int64_t test_images = 0;    // > 0: test_accuracy was measured on that many test images (verify)
  double test_accuracy = 0.0;
  bool watermarked = false;   // the checkpoint/trial carries secrets
  bool white_box = true;      // the white-box figures below were read (an API attack reads only remotely)
  std::string scheme;         // gradsigns | uchida
  int64_t bits = 0;
  double ber_white_box = 0.0;         // bits from the mean projection over S x R test images
  double mean_repeat_ber_test = 0.0;  // the reference's figure, test images
  double mean_repeat_ber_train = 0.0;  // ... train images
  int64_t matched = 0;
  double p_value = 1.0;
  bool owned = false;
  // With non-watermarked reference models (VerifyOptions::null_models): their lowest BER is the threshold.
  int64_t null_models = 0;
  double empirical_threshold = 0.0;
  double null_mean_ber = 0.0;
  double null_false_positive_rate = 0.0;  // null models the binomial verdict judges owned
  bool owned_empirically = false;
  double significance = 1e-6;
  std::vector<RemoteReading> remote;
  std::string text() const;  // one "key value" line per figure
};

struct VerifyOptions {
  bool remote = false;
  std::vector<double> h;           // empty: the checkpoint's config
  int64_t images = 0;              // 0: the checkpoint's config
  int64_t repeats = 0;             // 0: the checkpoint's config
  std::string dataset_path;        // empty: where the checkpoint's config says
  std::vector<std::string> null_models;  // checkpoints of non-watermarked models for an empirical threshold
  bool allow_watermarked_null = false;   // else a null model that carries a watermark is refused
  std::function<void()> on_null_model;   // after each null model is read (may be empty): a sweep's heartbeat
};

// A reading as a trial stores it (core/trial_results.h).
core::WatermarkReading reading_of(const VerificationReport& v);
// A watermark read again from its model and from null models (VerifyOptions::null_models), as a trial stores it.
core::TrialResults null_check_results_of(const VerificationReport& v, double seconds);

}  // namespace signsweep::workers
