#include "workers/device/device.h"

#include "common/machine.h"

#include <unistd.h>

#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"

namespace signsweep::workers {
namespace {

// N of "cuda:N", -1 for "cuda" and "auto", -2 for "cpu".
int requested_index(const std::string& device) {
  if (device == "cpu") return -2;
  if (device == "auto" || device == "cuda") return -1;
  return std::stoi(device.substr(5));
}

}  // namespace

bool is_device_name(const std::string& device) {
  static const std::regex valid("auto|cpu|cuda|cuda:[0-9]{1,3}");
  return std::regex_match(device, valid);
}

std::string assign_device(const std::string& requested, int local_index, int local_workers, int visible_gpus,
                          bool allow_sharing, const std::string& host, const std::string& key) {
  if (!is_device_name(requested))
    throw ConfigError(fmt::format("{} = '{}': must be auto, cpu, cuda or cuda:N", key, requested));
  const int index = requested_index(requested);
  if (index == -2 || (requested == "auto" && visible_gpus == 0)) return "cpu";
  if (visible_gpus == 0)
    throw ConfigError(fmt::format("{} = '{}': no GPU is visible on host {} (CPU-only LibTorch, or "
                                  "CUDA_VISIBLE_DEVICES empty); use auto or cpu",
                                  key, requested, host));
  if (index >= visible_gpus)
    throw ConfigError(fmt::format("{} = '{}': host {} has {} visible GPU(s) (cuda:0..cuda:{})", key, requested,
                                  host, visible_gpus, visible_gpus - 1));
  const int gpus_used = index >= 0 ? 1 : visible_gpus;
  if (local_workers > gpus_used && !allow_sharing)
    throw ConfigError(fmt::format(
        "{} = '{}': {} worker ranks on host {} but {} GPU(s) for them: launch at most {} worker rank(s) per "
        "node, or allow ranks to share a GPU (allow_gpu_sharing: true in the sweep, or --allow-gpu-sharing)",
        key, requested, local_workers, host, gpus_used, gpus_used));
  return fmt::format("cuda:{}", index >= 0 ? index : local_index % visible_gpus);
}

std::vector<std::string> assign_devices(const std::string& requested, const std::vector<std::string>& hosts,
                                        const std::vector<std::vector<std::string>>& visible_gpus, int first_worker,
                                        bool allow_sharing, const std::string& key) {
  std::vector<std::string> devices(hosts.size());
  std::map<std::string, int> seen;                    // ranks so far per (host, GPUs it sees)
  std::map<std::string, std::vector<size_t>> on_gpu;  // physical GPU -> its ranks
  for (size_t r = static_cast<size_t>(first_worker); r < hosts.size(); ++r) {
    std::vector<std::string> ids = visible_gpus.at(r);
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i].empty()) ids[i] = fmt::format("{}/cuda:{}", hosts[r], i);  // unknown UUID: host and index
    const std::string group = fmt::format("{}|{}", hosts[r], fmt::join(ids, ","));
    devices[r] = assign_device(requested, seen[group]++, 1, static_cast<int>(ids.size()), true, hosts[r], key);
    if (devices[r] != "cpu") on_gpu[ids.at(static_cast<size_t>(std::stoi(devices[r].substr(5))))].push_back(r);
  }
  if (allow_sharing) return devices;
  for (const auto& [gpu, ranks] : on_gpu)
    if (ranks.size() > 1)
      throw ConfigError(fmt::format(
          "{} = '{}': worker ranks {} on host {} would share one GPU ({}): launch at most one worker rank per GPU, "
          "or allow ranks to share a GPU (allow_gpu_sharing: true in the sweep, or --allow-gpu-sharing)",
          key, requested, fmt::join(ranks, ", "), hosts[ranks.front()], gpu));
  return devices;
}

std::string assign_local_device(const std::string& requested, const std::string& key) {
  return assign_device(requested, 0, 1, visible_gpu_count(), false, common::host_name(), key);
}

}  // namespace signsweep::workers
