// What this process runs on: the cores it may use, its share of them among the ranks of its node, and the
// host's name.
// Thread-safety: queries are pure except core_share(), which reads the share set once at start-up
// (set_core_share, before any trial runs).
#pragma once

#include <string>
#include <vector>

namespace signsweep::common {

// The cores of this process's CPU affinity mask (taskset, Slurm's --cpus-per-task, mpirun --bind-to), not the
// machine's core count. >= 1.
int usable_cores();
// The CPU ids of that mask, ascending.
std::vector<int> affinity_cpus();
// SLURM_CPUS_PER_TASK as a positive integer, 0 when unset or not one (then Slurm did not say).
int slurm_cpus_per_task();

// What `threads: 0` means in this process: the share set by set_core_share (an MPI worker's fair share of its
// node), else the affinity mask capped by SLURM_CPUS_PER_TASK. >= 1.
int core_share();
void set_core_share(int threads);

// One rank as the fair share sees it.
struct RankCores {
  std::string host;
  std::vector<int> cpus;   // its affinity mask
  int cpus_per_task = 0;   // SLURM_CPUS_PER_TASK, 0 when unset
  bool worker = true;      // rank 0 (the scheduler) trains nothing and counts as no worker
};
// A rank's intra-op (and inter-op) thread count and, for the log, how it was chosen.
struct CoreShare {
  int threads = 1;
  std::string why;
};
// Each rank's share: SLURM_CPUS_PER_TASK where Slurm gave one (capped by the mask); otherwise the cores of its
// mask divided among the worker ranks of its host whose masks overlap it (itself included), at least 1.
// Under `mpirun --bind-to none` every mask is the whole node, so K workers on C cores get C/K threads each
// instead of C each (oneDNN/OpenMP threads spinning against each other); under --bind-to core the masks are
// disjoint and each rank keeps its own cores.
std::vector<CoreShare> share_cores(const std::vector<RankCores>& ranks);

// gethostname(2): what provenance records, lock files name and the MPI rank map prints.
std::string host_name();

}  // namespace signsweep::common
