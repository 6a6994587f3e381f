// The checks of a trial that need its data set's shape and class counts (loaders.h DataShape) but no
// training: carriers within the input, the target class below the class count, target images per batch
// below the batch size, per-class budgets (subsets, validation split, attacker data)
// within what each class holds. A sweep runs them at validation, so `--dry-run` catches what the trial
// would otherwise fail on after minutes of loading and training. Torch-free.
// Thread-safety: functions only.
#pragma once

#include "workers/attacks/attack_spec.h"
#include "workers/data/loaders.h"
#include "workers/train/trial_config.h"

namespace signsweep::common {
class ConfigNode;
}

namespace signsweep::workers {

// `root` is the node the config was parsed from: errors name its file, line and key. Throws ConfigError.
void check_trial_against_data(const common::ConfigNode& root, const TrialConfig& config, const DataShape& data);

// `node` is the attack's mapping, `owner` the config of the model it attacks. Throws ConfigError.
void check_attack_against_data(const common::ConfigNode& node, const AttackSpec& spec, const TrialConfig& owner,
                               const DataShape& data);

}  // namespace signsweep::workers
