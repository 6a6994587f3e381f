// Runs a sweep into its results store: in this process (no mpirun), or over MPI worker groups with rank 0
// scheduling (scheduler.h) and writing. Both run every trial through execute_task and record it the same
// way: running (attempt n) when it starts, then done/failed with results, series and provenance.
// Resume: done trials are skipped; unfinished (running when the last run died) are rerun; failed ones
// only with retry_failed, up to max_retries extra attempts. A trial that throws is recorded failed with
// its message and the sweep goes on; attacks of a failed embed trial stay pending.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <mpi.h>

#include "orchestrator/sweep.h"

namespace signsweep::orchestrator {

struct RunOptions {
  std::string out;  // store directory
  bool retry_failed = false;
  bool extend = false;
  bool durable = true;
  int ranks_per_trial = 0;  // 0: the sweep's (default 1)
  bool allow_gpu_sharing = false;  // or the sweep's allow_gpu_sharing
};

struct RunSummary {
  int64_t ran = 0;
  int64_t done = 0;  // after the run, in the whole store
  int64_t failed = 0;
  int64_t pending = 0;
  int64_t skipped = 0;  // already done before this run
};

class SweepMetrics;

// `device`: this process's ("cpu" or "cuda:K", workers::assign_local_device(sweep.device)).
// `metrics` (may be null) receives every scheduling event and progress report.
RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options, const std::string& device,
                                SweepMetrics* metrics = nullptr);

// The MPI roles: rank 0 schedules and writes; ranks 1.. form groups of ranks_per_trial consecutive ranks.
struct MpiLayout {
  int rank = 0;
  int size = 1;
  int ranks_per_trial = 1;
  int group = -1;  // -1 on rank 0
  MPI_Comm group_comm = MPI_COMM_NULL;
  std::vector<int> leaders;  // world rank of each group's leader
  std::string device;         // this rank's ("cpu" or "cuda:K"; "" on rank 0)
  std::vector<std::string> devices;  // rank 0: every rank's
  std::vector<std::string> hosts;    // rank 0: every rank's
  // The distinct devices / hosts of group `g`'s ranks, e.g. "cuda:0" or "cuda:0,cuda:1" (trial provenance).
  std::string group_devices(int g) const { return of_group(g, devices); }
  std::string group_hosts(int g) const { return of_group(g, hosts); }
  std::string of_group(int g, const std::vector<std::string>& per_rank) const;
};
// Collective over MPI_COMM_WORLD. Throws ConfigError (exit 2) when size - 1 is not a multiple of
// ranks_per_trial, or (on rank 0) when the devices cannot be assigned (workers/device/device.h: a worker's
// device is its node-local worker index modulo the GPUs visible on its node, or `device`).
// Logs the rank -> host -> group -> device map on rank 0.
// `device_key` names the setting in errors (e.g. "sweep.yaml: device").
MpiLayout make_layout(int ranks_per_trial, const std::string& device = "auto", bool allow_gpu_sharing = false,
                      const std::string& device_key = "device");

// Rank 0. Opens (and locks) the store, checks with the workers that every group leader sees it, then
// schedules. `stop` (set by SIGTERM/SIGINT) ends dispatching; running trials are recorded when they finish.
RunSummary run_sweep_scheduler(const Sweep& sweep, const RunOptions& options, const MpiLayout& layout,
                               const std::atomic<bool>* stop, SweepMetrics* metrics = nullptr);
// Ranks 1..: take part in the store check, then serve tasks until rank 0 says stop.
void serve_worker_group(const MpiLayout& layout);

}  // namespace signsweep::orchestrator
