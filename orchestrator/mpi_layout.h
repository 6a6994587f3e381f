// The roles of the ranks of an MPI job: rank 0 schedules and writes the store; ranks 1.. form worker groups
// of ranks_per_trial consecutive ranks, each with its device; and the start-up checks that need all ranks
// (the host/device exchange, the store seen by every group leader).
// Thread-safety: collectives, called by every rank from its main thread.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace signsweep::orchestrator {

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

}  // namespace signsweep::orchestrator
