#include "common/machine.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace signsweep::common {

namespace {

std::atomic<int> g_core_share{0};  // 0: not set

bool overlap(const std::vector<int>& a, const std::vector<int>& b) {
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i == *j) return true;
    *i < *j ? ++i : ++j;
  }
  return false;
}

}  // namespace

int usable_cores() { return static_cast<int>(affinity_cpus().size()); }

std::vector<int> affinity_cpus() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) cpus.push_back(c);
  }
  if (cpus.empty())  // no mask to read: every core the machine has
    for (unsigned c = 0; c < std::max(1U, std::thread::hardware_concurrency()); ++c) cpus.push_back(static_cast<int>(c));
  return cpus;
}

int slurm_cpus_per_task() {
  const char* value = std::getenv("SLURM_CPUS_PER_TASK");
  if (value == nullptr) return 0;
  try {
    size_t used = 0;
    const int n = std::stoi(value, &used);
    return used == std::string(value).size() && n > 0 ? n : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

int core_share() {
  const int set = g_core_share.load();
  if (set > 0) return set;
  const int slurm = slurm_cpus_per_task();
  return slurm > 0 ? std::min(slurm, usable_cores()) : usable_cores();
}

void set_core_share(int threads) { g_core_share.store(std::max(1, threads)); }

std::vector<CoreShare> share_cores(const std::vector<RankCores>& ranks) {
  std::vector<CoreShare> shares(ranks.size());
  for (size_t r = 0; r < ranks.size(); ++r) {
    const RankCores& me = ranks[r];
    const int mask = std::max<int>(1, static_cast<int>(me.cpus.size()));
    if (!me.worker) {
      shares[r] = {1, "scheduler"};
      continue;
    }
    if (me.cpus_per_task > 0) {
      shares[r] = {std::min(me.cpus_per_task, mask),
                   fmt::format("SLURM_CPUS_PER_TASK={}, {} core(s) in the mask", me.cpus_per_task, mask)};
      continue;
    }
    int sharing = 0;
    for (const RankCores& other : ranks)
      if (other.worker && other.host == me.host && overlap(other.cpus, me.cpus)) ++sharing;
    sharing = std::max(1, sharing);
    shares[r] = {std::max(1, mask / sharing),
                 fmt::format("{} core(s) in the mask shared by {} worker rank(s) on {}", mask, sharing, me.host)};
  }
  return shares;
}

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace signsweep::common
