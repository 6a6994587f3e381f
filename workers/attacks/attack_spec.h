// What one attack is, as YAML or `signsweep attack --attack NAME --set key=value` says it, validated
// strictly: every attack reads only its own keys, so a key that belongs to another attack (or to none) is
// reported as unknown with file, line and key. Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/vocabulary.h"
#include "workers/models/model_spec.h"
#include "workers/train/train_spec.h"

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

// The attacks' names and kinds are core/vocabulary.h's.
using core::AttackKind;
using core::attack_names;
using core::to_string;

// Attacker data: `images_per_class` images of every class drawn from the training set (seeded), split per
// class into fine-tune / validation (reference: 70/30).
struct AttackerData {
  int64_t images_per_class = 500;
  double fine_tune_fraction = 0.7;
};

// The fine-tuning every training attack runs (reference: Adam, batch 256, up to 10 epochs, early stop on
// validation accuracy with patience 2; 0 = no early stopping).
struct FineTuneSpec {
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double lr = 1e-3;
  int64_t epochs = 10;
  int64_t batch_size = 256;
  int64_t patience = 2;
};

// Quantization (../shared/spec/gradsigns.md): `reference` is the reference's attack, per layer (a module: a
// conv, a dense or a BatchNorm layer) on one step from the largest magnitude over all of that layer's arrays,
// BatchNorm statistics included (the reference tests 8 and 16 bits); `weights` is the literature's low-bit
// attack, conv and dense kernels only, each on its own symmetric step (biases and BatchNorm untouched).
enum class QuantizeVariant { kReference, kWeights };
const char* to_string(QuantizeVariant v);

struct AttackSpec {
  AttackKind kind = AttackKind::kFtal;
  std::string yaml;  // the attack's resolved section (defaults filled in, canonical): trial ids hash it
  uint64_t seed = 0;  // attacker data, noise patterns, perturbations, new secrets, surrogate init
  AttackerData data;
  FineTuneSpec fine_tune;
  double rate = 0.5;          // prune: fraction of kernel weights set to zero, [0, 1)
  int64_t bits = 8;           // quantize: bits per weight (>= 2); overwrite: signature length (0 = owner's)
  QuantizeVariant quantize_variant = QuantizeVariant::kReference;
  double sigma = 0.01;        // noise: standard deviation in [0,1] pixel space
  int64_t trials = 20;        // noise / score-perturbation: independent draws averaged
  int64_t decimals = 2;       // score-rounding
  std::vector<double> h;      // API attacks: finite-difference steps (empty: the model's own)
  // overwrite (0 / nullopt / negative: the owner's value)
  int64_t carriers = 0;
  double lambda = -1.0;
  std::optional<int64_t> target_class;  // default: drawn from the attacker's seed among the classes of its
                                        // pseudo-labelled data (the attacker does not know the owner's)
  uint64_t watermark_seed = 0;  // the attacker's secrets; must differ from the owner's
  bool watermark_seed_given = false;  // else a sweep derives one per trial from its store's secret, and
                                      // `signsweep attack` draws one from the OS
  // distill
  double temperature = 4.0;
  std::optional<ModelSpec> surrogate;  // default: the owner's architecture

  bool trains() const;        // fine-tunes a model on attacker data
  bool uses_api() const;      // acts on the prediction API (remote readings before/after)
};

// `node` is one attack mapping: {attack: NAME, key: value, ...}; throws ConfigError naming file, line, key.
AttackSpec parse_attack_spec(const common::ConfigNode& node);

// The CLI form: --attack NAME, optional --config FILE (a mapping as above), then --set key=value
// overrides (values are YAML: 0.5, [1e-2, 1e-3], {name: small-cnn}).
AttackSpec attack_spec_from_cli(const std::string& name, const std::string& config_file,
                                const std::vector<std::string>& settings);

}  // namespace signsweep::workers
