// What this process runs on: the cores it may use and the host's name.
// Thread-safety: pure queries.
#pragma once

#include <string>

namespace signsweep::common {

// The cores of this process's CPU affinity mask (taskset, Slurm's --cpus-per-task, mpirun --bind-to), not the
// machine's core count, so that `threads: 0` means "every core I was given". >= 1.
int usable_cores();

// gethostname(2): what provenance records, lock files name and the MPI rank map prints.
std::string host_name();

}  // namespace signsweep::common
