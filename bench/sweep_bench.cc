// A whole sweep at scale with stand-in trials: the real load_sweep (expansion of the YAML) and run_sweep (the
// results store and its catalog, the scheduler, every task and result encoded as the protocol does), with
// trials that sleep a duration uniform in [0, 2 x mean] (drawn from each trial's id, so a rerun gives each trial
// the same duration); model-writing trials leave an empty model file where a worker would, so their attacks
// follow as in a real run. Under mpirun (more than one rank) the worker groups are MPI ranks that serve tasks
// as `signsweep run`'s do (serve_worker_group) with a sleeping executor; in one process they are G simulated
// groups (bench/simulated_cluster.h).
//   build/bench/bench_sweep <sweep.yaml> <store> <groups> <mean ms> [stop after this fraction of trials=1]
//                           [durable=1]
//   mpirun -np <1 + workers> build/bench/bench_sweep <sweep.yaml> <store> 0 <mean ms> [fraction] [durable]
// Run it once with a fraction of 0.5 and again with 1 on the same store: the second run's time to its first
// task is what a user waits when resuming a half-finished store (expansion, store, catalog, scheduling).
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "bench/measure.h"
#include "bench/simulated_cluster.h"
#include "comm/collective.h"
#include "comm/mpi_transport.h"
#include "common/hash.h"
#include "common/log.h"
#include "orchestrator/mpi_session.h"
#include "orchestrator/run_sweep.h"
#include "orchestrator/sweep.h"
#include "workers/registry.h"

using namespace signsweep;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// A duration in [0, 2 x mean] seconds from the trial's id (a hex content hash).
double duration_of(const std::string& id, double mean_s) {
  const uint64_t h = std::stoull(common::content_hash(id).substr(0, 13), nullptr, 16);  // 52 bits
  return 2.0 * mean_s * static_cast<double>(h) / static_cast<double>(uint64_t{1} << 52);
}

uint64_t bytes_under(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += e.file_size();
  return bytes;
}

}  // namespace

// A worker rank's stand-in for execute_task: the leader sleeps the trial's duration.
comm::Result sleep_for_task(const comm::Task& task, const orchestrator::TaskContext& context, double mean_s) {
  if (context.group == nullptr || context.group->rank() == 0) {
    if (task.kind.writes_model()) std::ofstream(task.checkpoint, std::ios::binary);  // the model a worker would write
    std::this_thread::sleep_for(std::chrono::duration<double>(duration_of(task.id, mean_s)));
  }
  comm::Result r;
  r.id = task.id;
  r.ok = true;
  return r;
}

int main(int argc, char** argv) {
  const auto start = Clock::now();
  MPI_Init(&argc, &argv);
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_sweep <sweep.yaml> <store> <groups> <mean ms> [stop fraction=1] [durable=1]\n");
    return 2;
  }
  const std::string yaml = argv[1];
  const std::string store = argv[2];
  const int simulated_groups = std::stoi(argv[3]);
  const double mean_s = std::stod(argv[4]) / 1000.0;
  const double fraction = argc > 5 ? std::stod(argv[5]) : 1.0;
  const bool durable = argc > 6 ? std::stoi(argv[6]) != 0 : true;
  common::init_logging(0, "warn");  // one line per trial would be the benchmark
  workers::register_builtins();     // the data sets, models and schemes a sweep names
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const bool mpi = size > 1;
  const orchestrator::MpiLayout layout = mpi ? orchestrator::make_layout(1, "cpu") : orchestrator::MpiLayout{};
  if (mpi && layout.rank > 0) {
    orchestrator::check_store_is_shared(layout, "");  // with rank 0, once it has opened the store
    orchestrator::serve_worker_group(layout, nullptr, [&](const comm::Task& t, const orchestrator::TaskContext& c) {
      return sleep_for_task(t, c, mean_s);
    });
    MPI_Finalize();
    return 0;
  }

  const orchestrator::Sweep sweep = orchestrator::load_sweep(yaml);
  const auto expanded = Clock::now();
  const double rss_expanded = bench::peak_rss_mib();
  const auto trials = static_cast<int64_t>(sweep.trials.size());
  const auto stop_after = static_cast<int64_t>(fraction * static_cast<double>(trials));

  std::atomic<bool> stop{false};
  int64_t sent = 0;
  double work_s = 0.0;
  const auto on_task = [&](const comm::Task& t) {
    if (!mpi && t.kind.writes_model()) std::ofstream(t.checkpoint, std::ios::binary);  // the model a worker would write
    work_s += duration_of(t.id, mean_s);
    if (++sent >= stop_after && fraction < 1.0) stop = true;
  };
  orchestrator::WorkerGroups workers;
  std::unique_ptr<comm::Mailbox> inner;
  if (mpi) {
    workers = orchestrator::worker_groups_of(layout);
    inner = std::make_unique<comm::MpiMailbox>(MPI_COMM_WORLD);
  } else {
    for (int g = 1; g <= simulated_groups; ++g) {
      workers.leaders.push_back(g);
      workers.hosts.push_back("sim" + std::to_string(g));
      workers.devices.push_back("cpu");
    }
    workers.watched = false;  // simulated groups send no heartbeats
    inner = std::make_unique<bench::SimulatedCluster>(simulated_groups, [&](const comm::Task& t) { return duration_of(t.id, mean_s); });
  }
  bench::TimedMailbox mailbox(*inner, on_task);
  const int groups = static_cast<int>(workers.leaders.size());
  orchestrator::RunOptions options;
  options.out = store;
  options.durable = durable;
  const double cpu_before = bench::cpu_seconds();
  const auto run_start = Clock::now();
  const orchestrator::RunSummary summary = orchestrator::run_sweep(sweep, options, workers, mailbox, &stop, nullptr, [&](const std::string& dir) {
    if (mpi) orchestrator::check_store_is_shared(layout, dir);
  });
  const auto run_end = Clock::now();
  const double cpu = bench::cpu_seconds() - cpu_before;

  const double first_task_s = mailbox.first_task() ? seconds_between(start, *mailbox.first_task()) : -1.0;
  const double makespan = mailbox.first_task() ? seconds_between(*mailbox.first_task(), run_end) : 0.0;
  const double ideal = work_s / groups;
  std::printf("sweep %s: %lld trials, %d %s groups, mean %.1f ms, durable %d\n", yaml.c_str(), static_cast<long long>(trials),
              groups, mpi ? "MPI" : "simulated", 1e3 * mean_s, durable ? 1 : 0);
  std::printf("expansion %.2f s (peak RSS %.1f MiB)\n", seconds_between(start, expanded), rss_expanded);
  std::printf("first task sent %.2f s after start (store opened and read in %.2f s of it)\n", first_task_s,
              mailbox.first_task() ? seconds_between(run_start, *mailbox.first_task()) : -1.0);
  std::printf("this run: %lld sent, %lld ran, %lld skipped (done before), %lld done, %lld pending after\n",
              static_cast<long long>(sent), static_cast<long long>(summary.ran), static_cast<long long>(summary.skipped),
              static_cast<long long>(summary.done), static_cast<long long>(summary.pending));
  std::printf("makespan %.2f s, ideal (work / groups) %.2f s, ratio %.4f\n", makespan, ideal, ideal > 0 ? makespan / ideal : 0.0);
  std::printf("dispatch latency median %.1f us, p99 %.1f us\n", 1e6 * bench::quantile(mailbox.latencies(), 0.5),
              1e6 * bench::quantile(mailbox.latencies(), 0.99));
  std::printf("rank 0 CPU in run_sweep %.2f s (%.1f us per trial sent), peak RSS %.1f MiB\n", cpu,
              sent > 0 ? 1e6 * cpu / static_cast<double>(sent) : 0.0, bench::peak_rss_mib());
  std::printf("store %.1f MiB; wall %.2f s\n", static_cast<double>(bytes_under(store)) / (1 << 20), seconds_between(start, run_end));
  MPI_Finalize();
  return 0;
}
