// A sweep file expanded into its trial DAG: base trial config x `grid` (Cartesian product over dotted
// config keys) gives the embed trials; each attack entry x its own `grid` gives, for every embed trial, the
// attack trials that depend on it (an attack without its own `seed` takes its model's trainer.seed); an optional null-model stage gives plain models and, per watermarked
// model, a check of its watermark against them. Every trial config is validated (strictly, with file,
// line and key in the user's file) before anything runs, including the ranges that depend on the data set
// (read from its headers). One grid point is one trial: ids are content hashes of the resolved config
// (defaults filled in, keys sorted, numbers canonical; attacks: of the parent id and the resolved attack),
// and two grid points that resolve to the same trial are refused.
//   name: quickstart
//   base: {dataset: ..., model: ..., trainer: ..., watermark: ...}
//   grid: {watermark.bits: [32, 64], watermark.lambda: [0.1, 0.3], trainer.seed: [0, 1]}
//   attacks:
//     - {attack: quantize, grid: {bits: [8, 4]}}
//     - {attack: prune, epochs: 2, grid: {rate: [0.3, 0.6]}}
//   null_models: {count: 30, first_seed: 10000}  # K plain models per recipe; each watermark checked against them
//   attack_checkpoints: [released.h5]  # models made elsewhere (signsweep train, import): attacked like the grid's;
//                                      # base and grid are then optional. Each is copied into the store when its
//                                      # trial runs (id: the path as written; the file's content hash is recorded)
//   max_retries: 1
//   ranks_per_trial: 1     # under mpirun: worker group size (data-parallel)
//   trial_time_limit: 3600 # seconds; a training trial past it fails (checked at epoch ends)
//   lost_after: 600        # seconds a running worker group may stay silent before it is declared lost
//                          # (a hung or stopped rank: scheduler.h); 0 = never
//   removal_margin: 0.05   # an attack removes a watermark only if the verdict flips and the attacked model's
//                          # accuracy stays within this of the watermarked model's (report/report.h)
//   device: auto           # auto | cpu | cuda | cuda:N for every worker rank (workers/device/device.h)
//   allow_gpu_sharing: false  # more worker ranks than GPUs on a node: an error unless true
// The device is a setting of the run, not of a trial (it is not part of trial ids): `trainer.device` in
// base or grid is refused in a sweep.
// Torch-free.
#pragma once

#include <string>
#include <vector>

#include "storage/results_store.h"
#include "workers/attacks/attack_spec.h"
#include "workers/train/trial_config.h"

namespace signsweep::orchestrator {

struct SweepTrial {
  storage::PlannedTrial planned;  // planned.kind: what the trial does (core/vocabulary.h)
  workers::TrialConfig config;  // training trials; a given checkpoint's recorded config (empty when unreadable here)
  workers::AttackSpec attack;   // attack trials
};

struct Sweep {
  std::string file;
  std::string name;
  storage::SweepIdentity identity;
  std::vector<SweepTrial> trials;  // topological: every trial after the trials it needs
  int64_t max_retries = 1;
  int64_t ranks_per_trial = 1;  // MPI: ranks in each worker group (data-parallel training)
  double trial_time_limit_s = 0.0;  // a training trial past it fails at its next epoch end (0 = none)
  double lost_after_s = 600.0;  // a running worker group silent this long is lost (0 = never); see scheduler.h
  double removal_margin = core::kDefaultRemovalMargin;  // read by `report` from the stored spec (report/report.h)
  std::string device = "auto";
  bool allow_gpu_sharing = false;
  // Things validation could not check or that make results meaningless (data not readable here, a
  // signature too short to ever reach its significance level): printed once by whoever runs the sweep.
  std::vector<std::string> warnings;
  int64_t count(core::Stage stage) const;
};

// The shortest lost_after a sweep may set (seconds).
inline constexpr double kShortestLostAfter = 10.0;
// How often a running group's leader says it is alive: a quarter of lost_after, at most every 10 s (0: never).
double heartbeat_interval(double lost_after_s);

// Throws ConfigError naming the file, line and key (or the grid point) of anything wrong.
Sweep load_sweep(const std::string& path);

// Data-parallel groups of `ranks_per_trial` ranks share every batch: a training trial whose batch size or
// target images per batch do not divide by it is a ConfigError naming the trial (checked before MPI starts).
void check_group_shares(const Sweep& sweep, int ranks_per_trial);

}  // namespace signsweep::orchestrator
