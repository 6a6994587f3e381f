// The words of a results store every reader and writer shares: a planned trial, its state, its record.
// Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/trial_results.h"
#include "core/vocabulary.h"

namespace signsweep::storage {

enum class TrialState { kPending, kRunning, kDone, kFailed };
const char* to_string(TrialState s);
std::optional<TrialState> trial_state_from_string(const std::string& s);

struct PlannedTrial {
  std::string id;      // content hash of the resolved config
  core::TrialKind kind;  // stored as its name (core/vocabulary.h)
  std::string label;   // human-readable, e.g. "bits=16 lambda=0.3 seed=0"
  std::string parent;  // attacks and null checks: the id of the trial whose model they read
  std::map<std::string, std::string> axes;  // grid values of this trial (report tables group by them)
  std::string config_yaml;                  // resolved config
  std::vector<std::string> needs;           // every trial that must be done first (the parent; a null check's null models)
};

struct TrialRecord {
  PlannedTrial trial;
  TrialState state = TrialState::kPending;
  std::string error;
  int64_t attempts = 0;
  std::map<std::string, std::string> provenance;  // git, versions, host, ranks, device, started, finished
  std::map<std::string, std::vector<double>> series;  // per epoch: every series has the same length
  core::TrialResults results;  // stored as scalars (core/trial_results.h)
  bool has_checkpoint = false;  // the trial's model is in the store, at checkpoint_path(id)
};

}  // namespace signsweep::storage
