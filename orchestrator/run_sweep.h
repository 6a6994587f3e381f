// Runs a sweep into its results store: one loop, rank 0's, that schedules the trials (scheduler.h) over
// worker groups it reaches through a comm::Mailbox, and records each the same way: running (attempt n) when
// it starts, then done/failed with results, series and provenance. Under mpirun the groups are MPI ranks
// (mpi_session.h: run_sweep_over_mpi); without mpirun one group runs on a thread of this process over an
// in-process channel, so both modes run the same loop and order trials alike. MPI-free.
// Resume: done trials are skipped; unfinished (running when the last run died) are rerun; failed ones
// only with retry_failed, up to max_retries extra attempts. A trial that throws is recorded failed with
// its message and the sweep goes on; attacks of a failed embed trial stay pending.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <functional>

#include "orchestrator/sweep.h"

namespace signsweep::comm {
class Mailbox;
}

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
  std::string store_failure;  // a write to the store failed (WriteError's message): the run stopped, exit 74
  std::vector<std::string> lost_groups;  // worker groups declared lost (which, where, since when): exit 76
};

class SweepMetrics;

// The worker groups a run hands trials to, as rank 0 addresses them.
struct WorkerGroups {
  std::vector<int> leaders;          // each group's leader's address in the mailbox
  std::vector<std::string> hosts;    // each group's host(s), e.g. "node1" or "node1,node2" (trial provenance)
  std::vector<std::string> devices;  // each group's device(s), e.g. "cuda:0"
  int ranks_per_trial = 1;
  bool watched = true;  // a running group silent past the sweep's lost_after is lost (scheduler.h)
};

// Opens (and locks) the store, calls `on_store_open` with its directory (may be empty; under MPI: every
// group leader must see the store), then schedules. `stop` (set by SIGTERM/SIGUSR1/SIGINT; may be null) ends
// dispatching and interrupts the running trials: training trials finish their step, save their resumable
// state and go back to pending; attacks and null checks run to their end (they are short, and restart from
// scratch). `metrics` (may be null) receives every scheduling event and progress report.
RunSummary run_sweep(const Sweep& sweep, const RunOptions& options, const WorkerGroups& groups, comm::Mailbox& mailbox,
                     const std::atomic<bool>* stop, SweepMetrics* metrics,
                     const std::function<void(const std::string& store_dir)>& on_store_open = {});

// Without mpirun: run_sweep with one worker group on a thread of this process. `device`: this process's
// ("cpu" or "cuda:K", workers::assign_local_device(sweep.device)).
RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options, const std::string& device,
                                const std::atomic<bool>* stop = nullptr, SweepMetrics* metrics = nullptr);

}  // namespace signsweep::orchestrator
