#include "orchestrator/mpi_session.h"

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "comm/collective.h"
#include "comm/messages.h"
#include "comm/mpi_transport.h"
#include "common/errors.h"
#include "common/machine.h"
#include "orchestrator/worker.h"
#include "workers/device/device.h"

namespace signsweep::orchestrator {

MpiSession::MpiSession() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

std::string mpi_library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(version, &len);  // allowed before MPI_Init
  const std::string text(version, static_cast<size_t>(len));
  return text.substr(0, text.find_first_of(",\n"));
}

void abort_job(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; if it did, this rank still ends
}

void agree_no_input_error(const MpiSession& mpi, const std::optional<std::string>& error) {
  const int failed = error ? 1 : 0;
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (!any) return;
  const int me = failed ? mpi.rank() : mpi.size();
  int reporter = 0;
  MPI_Allreduce(&me, &reporter, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (mpi.rank() == reporter) std::cerr << "signsweep: error: " << *error << std::endl;
  MPI_Barrier(MPI_COMM_WORLD);  // printed before any rank leaves
  throw ReportedInputError();
}

std::string MpiLayout::of_group(int g, const std::vector<std::string>& per_rank) const {
  std::vector<std::string> distinct;
  for (int r = 1 + g * ranks_per_trial; r < 1 + (g + 1) * ranks_per_trial && r < static_cast<int>(per_rank.size()); ++r) {
    const std::string& v = per_rank[static_cast<size_t>(r)];
    if (std::find(distinct.begin(), distinct.end(), v) == distinct.end()) distinct.push_back(v);
  }
  return fmt::format("{}", fmt::join(distinct, ","));
}

namespace {

const std::string kLayoutError = "error:";  // a device name is never this

// ", GPU-…" for a device whose UUID the rank reported.
std::string physical_gpu(const std::string& device, const std::vector<std::string>& uuids) {
  if (device.rfind("cuda:", 0) != 0) return "";
  const auto i = static_cast<size_t>(std::stoi(device.substr(5)));
  return i < uuids.size() && !uuids[i].empty() ? ", " + uuids[i] : "";
}

void log_layout(const MpiLayout& l, const std::string& device, bool allow_gpu_sharing,
                const std::vector<std::vector<std::string>>& visible, const std::vector<common::CoreShare>& shares) {
  spdlog::info("MPI layout: {} ranks, {} worker group(s) of {} rank(s); device {}{}", l.size, l.leaders.size(),
               l.ranks_per_trial, device, allow_gpu_sharing ? " (GPU sharing allowed)" : "");
  for (int r = 0; r < l.size; ++r)
    spdlog::info("  rank {} host {} {} device {} ({} GPU(s) visible{}){}", r, l.hosts[static_cast<size_t>(r)],
                 r == 0 ? std::string("scheduler")
                        : fmt::format("group {}{}", (r - 1) / l.ranks_per_trial, (r - 1) % l.ranks_per_trial == 0 ? " (leader)" : ""),
                 r == 0 ? "-" : l.devices[static_cast<size_t>(r)], visible[static_cast<size_t>(r)].size(),
                 physical_gpu(l.devices[static_cast<size_t>(r)], visible[static_cast<size_t>(r)]),
                 r == 0 ? std::string()
                        : fmt::format(" threads {} ({})", shares[static_cast<size_t>(r)].threads, shares[static_cast<size_t>(r)].why));
}

}  // namespace

MpiLayout make_layout(int ranks_per_trial, const std::string& device, bool allow_gpu_sharing, const std::string& device_key) {
  MpiLayout l;
  MPI_Comm_rank(MPI_COMM_WORLD, &l.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &l.size);
  l.ranks_per_trial = ranks_per_trial;
  if (ranks_per_trial < 1 || (l.size - 1) % ranks_per_trial != 0 || l.size < 2)
    throw ConfigError(fmt::format("MPI layout: {} ranks = rank 0 (scheduler) + worker groups of ranks_per_trial = {}: "
                                  "{} worker ranks is not a positive multiple of it",
                                  l.size, ranks_per_trial, l.size - 1));
  const int color = l.rank == 0 ? MPI_UNDEFINED : (l.rank - 1) / ranks_per_trial;
  MPI_Comm_split(MPI_COMM_WORLD, color, l.rank, &l.group_comm);
  l.group = color == MPI_UNDEFINED ? -1 : color;
  for (int r = 1; r < l.size; r += ranks_per_trial) l.leaders.push_back(r);

  // Rank 0 learns every rank's host and visible GPUs, assigns the devices and sends each rank its own.
  const comm::RankReport mine{common::host_name(), l.rank == 0 ? std::vector<std::string>{} : workers::visible_gpu_uuids(),
                              common::affinity_cpus(), common::slurm_cpus_per_task()};
  std::vector<std::string> devices;
  std::vector<int> threads;
  const std::vector<std::string> reports = comm::gather_strings(MPI_COMM_WORLD, comm::encode(mine), 0);
  if (l.rank == 0) {
    std::vector<std::vector<std::string>> visible;
    std::vector<common::RankCores> cores;
    for (const std::string& r : reports) {
      comm::RankReport report = comm::decode_rank_report(r);
      l.hosts.push_back(report.host);
      visible.push_back(std::move(report.gpus));
      cores.push_back({report.host, std::move(report.cpus), report.cpus_per_task, cores.size() > 0});
    }
    const std::vector<common::CoreShare> shares = common::share_cores(cores);
    for (const common::CoreShare& s : shares) threads.push_back(s.threads);
    try {
      l.devices = workers::assign_devices(device, l.hosts, visible, 1, allow_gpu_sharing, device_key);
      devices = l.devices;
      log_layout(l, device, allow_gpu_sharing, visible, shares);
    } catch (const ConfigError& e) {  // every rank learns it (in place of its device) and throws it
      devices.assign(static_cast<size_t>(l.size), kLayoutError + e.what());
    }
  }
  l.device = comm::scatter_strings(MPI_COMM_WORLD, devices, 0);
  l.threads = comm::scatter_int(MPI_COMM_WORLD, threads, 0);
  if (l.rank > 0) common::set_core_share(l.threads);
  if (l.device.rfind(kLayoutError, 0) == 0) throw ConfigError(l.device.substr(kLayoutError.size()));
  return l;
}

void check_store_is_shared(const MpiLayout& l, const std::string& dir) {
  std::string probe;  // "<path>\n<token>"
  if (l.rank == 0) {
    std::random_device random;
    const std::string token = fmt::format("{:08x}{:08x}", random(), random());
    const std::string path = (std::filesystem::path(dir) / (".probe-" + token)).string();
    std::ofstream(path) << token;
    probe = path + "\n" + token;
  }
  probe = comm::broadcast_string(MPI_COMM_WORLD, probe, 0);
  const std::string path = probe.substr(0, probe.find('\n'));
  const bool leader = l.rank > 0 && (l.rank - 1) % l.ranks_per_trial == 0;
  std::string seen;
  if (leader) std::getline(std::ifstream(path), seen);
  int sees = !leader || seen == probe.substr(probe.find('\n') + 1);
  std::vector<int> all(static_cast<size_t>(l.size));
  MPI_Gather(&sees, 1, MPI_INT, all.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (l.rank != 0) return;
  std::filesystem::remove(path);
  for (int r = 1; r < l.size; ++r)
    if (!all[static_cast<size_t>(r)])
      throw ConfigError(fmt::format("the store {} is not on a filesystem that host {} can see (rank {}, the leader of "
                                    "group {}, cannot read {}): give --out a directory every node mounts",
                                    dir, l.hosts[static_cast<size_t>(r)], r, (r - 1) / l.ranks_per_trial, path));
}

void serve_worker_group(const MpiLayout& layout, const std::atomic<bool>* signalled, const TaskExecutor& execute) {
  comm::MpiCollective group(layout.group_comm);
  comm::MpiLeaderLink link(MPI_COMM_WORLD, 0);
  const bool leader = group.rank() == 0;
  serve_tasks({leader ? &link : nullptr, layout.ranks_per_trial > 1 ? &group : nullptr, layout.group, layout.device},
              signalled, execute);
}

WorkerGroups worker_groups_of(const MpiLayout& layout) {
  WorkerGroups groups;
  groups.leaders = layout.leaders;
  groups.ranks_per_trial = layout.ranks_per_trial;
  for (size_t g = 0; g < layout.leaders.size(); ++g) {
    groups.hosts.push_back(layout.group_hosts(static_cast<int>(g)));
    groups.devices.push_back(layout.group_devices(static_cast<int>(g)));
  }
  return groups;
}

RunSummary run_sweep_over_mpi(const Sweep& sweep, const RunOptions& options, const MpiLayout& layout,
                              const std::atomic<bool>* stop, SweepMetrics* metrics) {
  comm::MpiMailbox mailbox(MPI_COMM_WORLD);
  return run_sweep(sweep, options, worker_groups_of(layout), mailbox, stop, metrics,
                   [&](const std::string& dir) { check_store_is_shared(layout, dir); });
}

}  // namespace signsweep::orchestrator
