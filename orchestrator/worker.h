// What a worker group does: receive tasks from rank 0 (its leader through a comm::LeaderLink, broadcast to
// the group's other ranks), run each through a TaskExecutor (execute_task: the same code in every mode) and
// send progress and the result back, until rank 0 says stop. Under mpirun the link is MPI
// (mpi_session.h: serve_worker_group); without mpirun it is an in-process channel to the scheduler's thread
// (run_sweep.h). MPI-free: unit-tested with a scripted link.
// Thread-safety: one thread per rank.
#pragma once

#include <atomic>
#include <string>

#include "orchestrator/execute.h"

namespace signsweep::comm {
class LeaderLink;
}

namespace signsweep::orchestrator {

// One rank of a worker group, as the loop sees it.
struct WorkerSide {
  comm::LeaderLink* link = nullptr;   // the leader's line to rank 0; null on the group's other ranks
  comm::Collective* group = nullptr;  // the group's ranks (data-parallel training); null for a group of one
  int index = 0;                      // the group's number, in progress messages
  std::string device = "cpu";         // this rank's ("cpu" or "cuda:K")
};

// Serves tasks until rank 0 says stop; the leader first tells rank 0 it is ready. A training trial stops
// after its step, saving its resumable state, when rank 0 sends kInterrupt or `signalled` (this rank's
// SIGTERM/SIGUSR1/SIGINT; may be null) is set; an interrupt that arrives while idle is dropped.
void serve_tasks(const WorkerSide& side, const std::atomic<bool>* signalled, const TaskExecutor& execute = execute_task);

}  // namespace signsweep::orchestrator
