// Everything of a `run` that is MPI, in one place (the rest of orchestrator/ is MPI-free): the session, the
// agreement on bad input, the roles of the ranks (rank 0 schedules and writes the store; ranks 1.. form
// worker groups of ranks_per_trial consecutive ranks, each with its device), the start-up checks that need
// all ranks (the host/device exchange, the store seen by every group leader), and the adapters that run the
// MPI-free loops (run_sweep.h, worker.h) over MPI.
// Thread-safety: collectives, called by every rank from its main thread (MPI_THREAD_FUNNELED).
#pragma once

#include <mpi.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "orchestrator/execute.h"
#include "orchestrator/run_sweep.h"

namespace signsweep::orchestrator {

// MPI for the lifetime of a `run` (a process started without mpirun is a world of one).
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// The MPI library's name and version ("Open MPI v4.1.4"); callable before MPI starts.
std::string mpi_library_version();

// Ends every rank of the job with `exit_code` (a rank whose peers wait for messages that will not come).
[[noreturn]] void abort_job(int exit_code);

// Collective: when any rank's `error` is set, the lowest such rank prints it and every rank throws
// ReportedInputError (exit 2 through MPI_Finalize: an MPI_Abort, or one rank exiting first, could kill the
// printing rank before it prints).
void agree_no_input_error(const MpiSession& mpi, const std::optional<std::string>& error);

// `f()` on every rank; bad input found by any rank (alike on every rank: a sweep file, a layout) is printed
// once and every rank exits 2 (agree_no_input_error).
template <typename F>
auto agreed(const MpiSession& mpi, const F& f) -> decltype(f()) {
  std::optional<decltype(f())> value;
  std::optional<std::string> error;
  try {
    value.emplace(f());
  } catch (const InputError& e) {
    error = without_backtrace(e.what());
  }
  agree_no_input_error(mpi, error);
  return std::move(*value);
}

// The MPI roles: rank 0 schedules and writes; ranks 1.. form groups of ranks_per_trial consecutive ranks.
struct MpiLayout {
  int rank = 0;
  int size = 1;
  int ranks_per_trial = 1;
  int group = -1;  // -1 on rank 0
  MPI_Comm group_comm = MPI_COMM_NULL;
  std::vector<int> leaders;  // world rank of each group's leader
  std::string device;         // this rank's ("cpu" or "cuda:K"; "" on rank 0)
  int threads = 1;            // this rank's share of its node's cores (common::share_cores), set as core_share
  std::vector<std::string> devices;  // rank 0: every rank's
  std::vector<std::string> hosts;    // rank 0: every rank's
  // The distinct devices / hosts of group `g`'s ranks, e.g. "cuda:0" or "cuda:0,cuda:1" (trial provenance).
  std::string group_devices(int g) const { return of_group(g, devices); }
  std::string group_hosts(int g) const { return of_group(g, hosts); }
  std::string of_group(int g, const std::vector<std::string>& per_rank) const;
};
// Collective over MPI_COMM_WORLD: every rank reports its host and visible GPUs (comm::RankReport), rank 0
// assigns the devices and sends each rank its own. Throws ConfigError on every rank (exit 2) when size - 1
// is not a multiple of ranks_per_trial or when the devices cannot be assigned (workers/device/device.h: a
// worker's device is its node-local worker index modulo the GPUs visible on its node, or `device`).
// Every worker rank's `threads: 0` becomes its fair share of its node's cores (common::share_cores), set as
// common::core_share. Logs the rank -> host -> group -> device -> threads map on rank 0.
// `device_key` names the setting in errors (e.g. "sweep.yaml: device").
MpiLayout make_layout(int ranks_per_trial, const std::string& device = "auto", bool allow_gpu_sharing = false,
                      const std::string& device_key = "device");

// Rank 0 writes a probe file into the store; every group leader must read it back: a store on a
// node-local filesystem would scatter checkpoints over the nodes and lose them for the attacks that need
// them. Collective over MPI_COMM_WORLD; `dir` matters on rank 0 only. Throws ConfigError on rank 0.
void check_store_is_shared(const MpiLayout& layout, const std::string& dir);

// Ranks 1..: this rank's part of its worker group (worker.h: serve_tasks) until rank 0 says stop. `execute`:
// execute_task, or a benchmark's stand-in.
void serve_worker_group(const MpiLayout& layout, const std::atomic<bool>* signalled = nullptr,
                        const TaskExecutor& execute = execute_task);

// The layout's worker groups as rank 0 addresses them (leaders, their hosts and devices).
WorkerGroups worker_groups_of(const MpiLayout& layout);

// Rank 0: run_sweep over the layout's worker groups (checking that each leader sees the store once it is open).
RunSummary run_sweep_over_mpi(const Sweep& sweep, const RunOptions& options, const MpiLayout& layout,
                              const std::atomic<bool>* stop, SweepMetrics* metrics = nullptr);

}  // namespace signsweep::orchestrator
