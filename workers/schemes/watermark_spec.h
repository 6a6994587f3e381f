// What a `watermark:` section says, validated. Absent section: a plain (non-watermarked) model.
// Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/vocabulary.h"

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

using core::SchemeKind;  // core/vocabulary.h

// How GradSigns flattens an input into the coordinates its carriers index: channels-last as the reference
// (index = (row*W + col)*channels + channel), or NCHW.
enum class FlattenOrder { kNhwc, kNchw };
const char* to_string(FlattenOrder o);
// The inverse of to_string; nullopt for an unknown name.
std::optional<FlattenOrder> flatten_order_from_string(const std::string& name);

struct WatermarkSpec {
  bool enabled = false;
  SchemeKind scheme = SchemeKind::kGradSigns;
  std::string layer;        // uchida: the conv kernel parameter (empty: the middle conv layer)
  int64_t bits = 16;        // N (reference default 16; released model 64)
  int64_t carriers = 64;    // C (reference default 64; released model 384)
  double lambda = 0.3;      // reference default (uchida: 0.01)
  int64_t target_class = 0;
  uint64_t seed = 0;        // secrets (signature, carriers, key)
  bool seed_given = false;  // watermark.seed in the config; otherwise a sweep derives it from its store's secret
  FlattenOrder order = FlattenOrder::kNhwc;
  int64_t target_per_batch = 10;  // k target images in every training batch (reference: 10 of 100)
  // Verification (white-box: S images x R repeats; remote: S images, one query set per step h).
  int64_t verify_images = 50;
  int64_t verify_repeats = 20;
  int64_t remote_images = 50;
  std::vector<double> remote_h = {1e-4};
  bool remote_float64 = false;  // the API computes in float64 (a real API: float32)
  double significance = 1e-6;   // ownership verdict
};

WatermarkSpec parse_watermark_spec(const common::ConfigNode& node);

// The seed of a watermark's secrets when the config gives none: a keyed hash (common::keyed_seed) of the
// settings that shape the secrets (the trial's training seed, scheme, bits, carriers, target class,
// flattening, layer) under the store's secret (storage::ResultsStore::secret). Models of different seeds carry
// independent watermarks, a 16-bit signature is not the prefix of the 32-bit one, and lambda and the
// verification settings do not change it (one seed at two lambdas carries one watermark: a paired
// comparison); a resume reproduces it, but nobody without the store's secret can, and two stores never share
// a watermark by accident. Below 2^53.
uint64_t derived_watermark_seed(const std::string& store_secret, uint64_t trainer_seed, const WatermarkSpec& spec);

// A warning when no reading of this signature can reach the significance level (2^-bits > significance:
// 16 bits at 1e-6), nullopt otherwise.
std::optional<std::string> unreachable_verdict_warning(const WatermarkSpec& spec);

}  // namespace signsweep::workers
