// Runs a sweep into its results store in this process (the mode without mpirun): every trial that is not
// done, in DAG order (an attack after its embed trial), each recorded running then done/failed.
// Resume: done trials are skipped; unfinished (running when the last run died) are rerun; failed ones only
// with retry_failed, up to max_retries extra attempts. A trial that throws is recorded failed with its
// message and the sweep goes on; attacks of a failed embed trial stay pending.
#pragma once

#include <string>

#include "orchestrator/sweep.h"

namespace signsweep::orchestrator {

struct RunOptions {
  std::string out;  // store directory
  bool retry_failed = false;
  bool extend = false;
  bool durable = true;
};

struct RunSummary {
  int64_t ran = 0;
  int64_t done = 0;      // after the run, in the whole store
  int64_t failed = 0;
  int64_t pending = 0;
  int64_t skipped = 0;   // already done before this run
};

RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options);

}  // namespace signsweep::orchestrator
