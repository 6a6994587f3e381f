// What ranks 1.. do under mpirun (after the start-up checks of mpi_layout.h): in their worker group,
// receive tasks from rank 0 (through the group leader, broadcast to the members), run each through
// execute_task (the same code as one-process mode) and send progress and the result back.
// Thread-safety: the main thread of a worker rank.
#pragma once

#include <atomic>

#include "orchestrator/mpi_layout.h"

namespace signsweep::orchestrator {

// Serves tasks until rank 0 says stop. A training trial stops after its step, saving its resumable state,
// when rank 0 sends kInterrupt or `signalled` (this rank's SIGTERM/SIGUSR1/SIGINT, may be null) is set.
void serve_worker_group(const MpiLayout& layout, const std::atomic<bool>* signalled = nullptr);

}  // namespace signsweep::orchestrator
