// Which device a worker rank computes on. `trainer.device` is one of
//   auto    : cuda:(node-local worker index mod visible GPUs), or cpu when no GPU is visible
//   cpu     : the CPU
//   cuda    : as auto, but an error when no GPU is visible
//   cuda:N  : GPU N (an error when fewer are visible)
// Every worker rank on a host gets its own GPU: more worker ranks on a host than GPUs (or several ranks on
// one `cuda:N`) is a ConfigError unless sharing is allowed (`allow_gpu_sharing: true` in the sweep, or
// --allow-gpu-sharing), because ranks that share a GPU silently halve each other's throughput and memory.
// Torch-free except visible_gpu_count() and visible_gpu_uuids().
#pragma once

#include <string>
#include <vector>

namespace signsweep::workers {

// Whether `device` is spelled as above.
bool is_device_name(const std::string& device);

// The device of one worker: the `local_index`-th (0-based) of `local_workers` worker ranks on `host`,
// which sees `visible_gpus` GPUs. Returns "cpu" or "cuda:K". Errors name `key` (where the setting came from).
std::string assign_device(const std::string& requested, int local_index, int local_workers, int visible_gpus,
                          bool allow_sharing, const std::string& host, const std::string& key = "device");

// Devices of every rank from the hosts and the GPUs each rank sees, gathered over MPI (index = rank; each
// GPU by its UUID, "" when unknown: then by host and index). Ranks below `first_worker` (the scheduler) get
// "". Ranks that see the same GPUs take them in turn (node-local index mod count); ranks that see
// different ones (Slurm's --gpus-per-task=1: each sees its own GPU as cuda:0) do not share. Two ranks on
// one physical GPU is a ConfigError naming them unless `allow_sharing`; so are the errors above.
std::vector<std::string> assign_devices(const std::string& requested, const std::vector<std::string>& hosts,
                                        const std::vector<std::vector<std::string>>& visible_gpus, int first_worker,
                                        bool allow_sharing, const std::string& key = "device");

// The device of a process that is the only worker on its host (signsweep train / attack, a sweep without
// mpirun).
std::string assign_local_device(const std::string& requested, const std::string& key = "device");


// GPUs LibTorch can use in this process (honours CUDA_VISIBLE_DEVICES; 0 with a CPU-only LibTorch).
int visible_gpu_count();
// Their UUIDs ("GPU-8f3c...") in cuda:N order, as the CUDA runtime reports them ("" each where the build
// cannot ask: a LibTorch without the CUDA runtime headers).
std::vector<std::string> visible_gpu_uuids();

}  // namespace signsweep::workers
