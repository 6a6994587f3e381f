// The `attack` verb: one attack on a watermarked checkpoint, with the owner's watermark read before and
// after. Torch-free (orchestrator/ calls it).
// Thread-safety: each call owns everything it builds.
#pragma once

#include <map>
#include <functional>
#include <string>

#include "workers/attacks/attack_spec.h"
#include "workers/evaluation/verification.h"

namespace signsweep::workers {

struct AttackReport {
  std::string attack;
  std::string parameters;  // the attack's YAML as given
  double accuracy_before = 0.0;
  double accuracy_after = 0.0;  // API attacks: through the attacked API; distill: the surrogate's
  VerificationReport before;    // the owner's watermark in the model as loaded
  VerificationReport after;     // ... after the attack (distill: read from the surrogate)
  std::map<std::string, double> figures;  // attack-specific (pruned_weights, epochs_run, attacker_ber, ...)
  double seconds = 0.0;
  std::string text() const;
};

struct AttackOptions {
  std::string output_checkpoint;  // empty: the attacked model is not written
  std::string dataset_path;       // empty: where the checkpoint's config says
  std::string device = "cpu";     // "cpu" or "cuda:K" (workers/device/device.h resolves trainer.device)
  std::function<void()> on_step;  // after every fine-tuning step (may be empty): a sweep's liveness heartbeat
};

// Loads the watermarked checkpoint and its data, runs the attack and reads the owner's watermark before
// and after. Throws ConfigError/DataError (exit 2) on bad parameters, a checkpoint without a watermark,
// an attacker budget beyond the data.
AttackReport run_attack(const std::string& checkpoint_path, const AttackSpec& spec, const AttackOptions& options);

// The attack's outcome as a trial stores it (core/trial_results.h).
core::TrialResults results_of(const AttackReport& report);

}  // namespace signsweep::workers
