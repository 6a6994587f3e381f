// How many cores this process may run on: its CPU affinity mask (taskset, Slurm's --cpus-per-task,
// mpirun --bind-to), not the machine's core count, so that `threads: 0` means "every core I was given".
// Thread-safety: a pure query.
#pragma once

namespace signsweep::common {

int usable_cores();  // >= 1

}  // namespace signsweep::common
