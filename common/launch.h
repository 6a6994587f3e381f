// What the launcher (mpirun, srun) told this process before MPI starts: its rank in the job, from Open MPI's
// OMPI_COMM_WORLD_RANK, PMIx's PMIX_RANK, MPICH's PMI_RANK or Slurm's SLURM_PROCID; none outside a launch.
// Bad input (a sweep file, a layout) is found alike by every rank: only rank 0 says so, every rank exits 2.
// Thread-safety: reads the environment.
#pragma once

#include <exception>
#include <optional>

namespace signsweep::common {

std::optional<int> launcher_rank();

// Whether this process should print `e` as its error: always, except bad input (InputError) on a rank
// other than 0 (`rank`: the MPI rank when known, else the launcher's).
bool prints_error(const std::exception& e, std::optional<int> rank = std::nullopt);

}  // namespace signsweep::common
