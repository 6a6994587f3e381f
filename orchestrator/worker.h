// What ranks 1.. do under mpirun (after the start-up checks of mpi_layout.h): in their worker group,
// receive tasks from rank 0 (through the group leader, broadcast to the members), run each through
// execute_task (the same code as one-process mode) and send progress and the result back.
// Thread-safety: the main thread of a worker rank.
#pragma once

#include "orchestrator/mpi_layout.h"

namespace signsweep::orchestrator {

// Serves tasks until rank 0 says stop.
void serve_worker_group(const MpiLayout& layout);

}  // namespace signsweep::orchestrator
