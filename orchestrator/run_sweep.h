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

#include "orchestrator/mpi_layout.h"
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
  int64_t interrupted = 0;  // stopped on request (SIGTERM/SIGUSR1): resumable; the run exits kExitInterrupted
  int64_t done = 0;  // after the run, in the whole store
  int64_t failed = 0;
  int64_t pending = 0;
  int64_t skipped = 0;  // already done before this run
};

class SweepMetrics;

// `device`: this process's ("cpu" or "cuda:K", workers::assign_local_device(sweep.device)).
// `stop` (set by SIGTERM/SIGUSR1/SIGINT; may be null): the training trial in progress finishes its step,
// saves its resumable state and goes back to pending; no trial starts after it.
// `metrics` (may be null) receives every scheduling event and progress report.
RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options, const std::string& device,
                                const std::atomic<bool>* stop = nullptr, SweepMetrics* metrics = nullptr);

// Rank 0. Opens (and locks) the store, checks with the workers that every group leader sees it, then
// schedules. `stop` (set by SIGTERM/SIGUSR1/SIGINT) ends dispatching and interrupts the running trials:
// training trials finish their step, save their resumable state and go back to pending; attacks and null
// checks run to their end (they are short, and restart from scratch).
RunSummary run_sweep_scheduler(const Sweep& sweep, const RunOptions& options, const MpiLayout& layout,
                               const std::atomic<bool>* stop, SweepMetrics* metrics = nullptr);

}  // namespace signsweep::orchestrator
