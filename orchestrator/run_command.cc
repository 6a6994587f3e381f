// `signsweep run`: the signals that stop a run, the metrics exporter, and the run in one process or under mpirun.
#include "orchestrator/commands.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/errors.h"
#include "common/launch.h"
#include "common/log.h"
#include "orchestrator/metrics.h"
#include "orchestrator/mpi_session.h"
#include "orchestrator/run_sweep.h"
#include "orchestrator/scrape_target.h"
#include "orchestrator/sweep.h"
#include "storage/atomic_file.h"
#include "workers/device/device.h"

namespace signsweep::orchestrator {
namespace {

// runs/<sweep name>
std::string default_store(const Sweep& sweep) { return (std::filesystem::path("runs") / sweep.name).string(); }

std::atomic<bool> g_stop_requested{false};
extern "C" void request_stop(int /*signal*/) { g_stop_requested.store(true); }

// SIGTERM and SIGUSR1 (what a batch system sends before a time limit or a preemption: `sbatch
// --signal=B:USR1@300`) and SIGINT ask the run to stop: the training trials in progress finish their step
// and save their resumable state, and the run exits kExitInterrupted (75) for the batch script to requeue.
// SA_RESETHAND: a second signal ends the process at once.
void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGTERM, SIGUSR1, SIGINT}) sigaction(signal, &action, nullptr);
}

// The exporter (rank 0 only), started before any trial so that a bad address stops the run first, and its
// Prometheus target file (scrape_target.h), removed when the run ends.
struct MetricsEndpoint {
  std::unique_ptr<SweepMetrics> metrics;
  std::unique_ptr<ScrapeTarget> target;
  SweepMetrics* get() const { return metrics.get(); }
};

MetricsEndpoint start_metrics(const Sweep& sweep, const MetricsCli& cli, const std::vector<std::string>& group_devices,
                              const std::string& store) {
  MetricsEndpoint e;
  if (cli.options.port < 0) return e;
  e.metrics = std::make_unique<SweepMetrics>(sweep.name, cli.options, group_devices);
  std::set<std::string> kinds;
  for (const SweepTrial& t : sweep.trials) kinds.insert(t.planned.kind.name());
  e.metrics->declare_kinds({kinds.begin(), kinds.end()});
  spdlog::info("metrics: http://{}:{}/metrics", cli.options.bind, e.metrics->port());
  std::map<std::string, std::string> labels{{"store", std::filesystem::absolute(store).lexically_normal().string()}};
  if (const char* job = std::getenv("SLURM_JOB_ID"); job != nullptr && *job != '\0') labels["slurm_job_id"] = job;
  e.target = std::make_unique<ScrapeTarget>(cli.targets_dir.empty() ? default_targets_dir(store) : cli.targets_dir,
                                            reachable_host(cli.options.bind), e.metrics->port(), labels);
  return e;
}

void linger(const MetricsEndpoint& endpoint, double seconds) {
  if (!endpoint.metrics || seconds <= 0.0) return;
  spdlog::info("metrics: serving the final values for {:g} s more (--metrics-linger)", seconds);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// "16 trials: 4 embed, 12 attacks" (+ null models, null checks and given checkpoints when the sweep has them).
std::string trial_counts(const Sweep& sweep) {
  using core::Stage;
  const int64_t null_models = sweep.count(Stage::kNullModel);
  std::string s = fmt::format("{} trials: {} embed, {} attacks", sweep.trials.size(), sweep.count(Stage::kEmbed),
                              sweep.count(Stage::kAttack));
  if (null_models > 0 || sweep.count(Stage::kNullCheck) > 0)
    s += fmt::format(", {} null models, {} null checks", null_models, sweep.count(Stage::kNullCheck));
  if (sweep.count(Stage::kCheckpoint) > 0) s += fmt::format(", {} given checkpoints", sweep.count(Stage::kCheckpoint));
  return s + "\n";
}

// --dry-run / --print-config: the trials (and their resolved configs), their count and validation's warnings.
int print_trials(const Sweep& sweep, bool print_config) {
  for (const std::string& w : sweep.warnings) spdlog::warn("{}", w);
  for (const SweepTrial& t : sweep.trials) {
    std::cout << fmt::format("{} {:<18} {}\n", t.planned.id, t.planned.kind.name(), t.planned.label);
    if (print_config) std::cout << t.planned.config_yaml << "\n";
  }
  std::cout << trial_counts(sweep);
  return 0;
}

// Prints the run's summary (stdout) and says what the exit code means (log).
int exit_code_of(const RunSummary& s, const std::string& store) {
  std::cout << fmt::format("store {}\nran {}\ndone {}\nfailed {}\npending {}\nskipped_done {}\ninterrupted {}\nlost_groups {}\n",
                           store, s.ran, s.done, s.failed, s.pending, s.skipped, s.interrupted, s.lost_groups.size())
            << std::flush;
  if (!s.store_failure.empty()) {
    spdlog::error("the store could not be written ({}); every finished trial is kept: free space (or make {} writable) "
                  "and relaunch the same command to resume (exit {})",
                  s.store_failure, store, kExitStoreUnwritable);
    return kExitStoreUnwritable;
  }
  if (!s.lost_groups.empty()) {
    for (const std::string& lost : s.lost_groups) spdlog::error("lost worker {}", lost);
    spdlog::error("{} worker group(s) lost; {} trial(s) pending; every finished trial is kept and none ran twice: check the "
                  "hosts named, then relaunch the same command (requeue) to finish (exit {})",
                  s.lost_groups.size(), s.pending, kExitGroupsLost);
    return kExitGroupsLost;
  }
  if (s.interrupted > 0) {
    spdlog::warn("interrupted: {} trial(s) pending; relaunch the same command to resume (exit {})", s.pending,
                 kExitInterrupted);
    return kExitInterrupted;
  }
  return s.failed > 0 ? 1 : 0;
}

}  // namespace

int cmd_run(const std::string& sweep_path, RunOptions options, bool dry_run, bool print_config, const std::string& log_level,
            const MetricsCli& metrics_cli) {
  if (dry_run || print_config) {
    const Sweep sweep = load_sweep(sweep_path);
    if (dry_run) storage::check_writable(options.out.empty() ? default_store(sweep) : options.out, "--out");
    return print_trials(sweep, print_config);
  }
  const MpiSession mpi;
  common::init_logging(mpi.rank(), log_level);
  const Sweep sweep = agreed(mpi, [&] { return load_sweep(sweep_path); });  // every trial validated before anything runs
  if (options.out.empty()) options.out = default_store(sweep);
  if (mpi.rank() == 0)
    for (const std::string& w : sweep.warnings) spdlog::warn("{}", w);
  RunSummary s;
  stop_on_signals();
  if (mpi.size() == 1) {
    const std::string device = workers::assign_local_device(sweep.device, sweep.file + ": device");
    const MetricsEndpoint metrics = start_metrics(sweep, metrics_cli, {device}, options.out);
    spdlog::info("sweep {}: {} trials ({} embed) into {}, in this process on {}", sweep.file, sweep.trials.size(),
                 sweep.count(core::Stage::kEmbed), options.out, device);
    s = run_sweep_in_process(sweep, options, device, &g_stop_requested, metrics.get());
    linger(metrics, metrics_cli.linger_seconds);
  } else {
    try {
      const int ranks_per_trial = options.ranks_per_trial > 0 ? options.ranks_per_trial : static_cast<int>(sweep.ranks_per_trial);
      const MpiLayout layout = agreed(mpi, [&] {
        MpiLayout l = make_layout(ranks_per_trial, sweep.device, sweep.allow_gpu_sharing || options.allow_gpu_sharing,
                                  sweep.file + ": device");
        check_group_shares(sweep, ranks_per_trial);
        return l;
      });
      if (mpi.rank() != 0) {
        // mpirun forwards SIGTERM/SIGUSR1/SIGINT to every rank: a group stops after its step (its leader
        // decides), and so does rank 0 (it interrupts every group when only it is signalled).
        check_store_is_shared(layout, "");  // with rank 0, once it has opened the store
        serve_worker_group(layout, &g_stop_requested);
        return 0;
      }
      std::vector<std::string> group_devices;
      for (size_t g = 0; g < layout.leaders.size(); ++g) group_devices.push_back(layout.group_devices(static_cast<int>(g)));
      MetricsEndpoint metrics = start_metrics(sweep, metrics_cli, group_devices, options.out);
      spdlog::info("sweep {}: {} trials ({} embed) into {}", sweep.file, sweep.trials.size(), sweep.count(core::Stage::kEmbed), options.out);
      s = run_sweep_over_mpi(sweep, options, layout, &g_stop_requested, metrics.get());
      linger(metrics, metrics_cli.linger_seconds);
      // A lost group's ranks may never reach MPI_Finalize (stopped, hung, gone): end the job from here.
      if (!s.lost_groups.empty()) {
        if (metrics.target) metrics.target->remove();  // MPI_Abort runs no destructor
        abort_job(exit_code_of(s, options.out));
      }
    } catch (const ReportedInputError&) {
      throw;  // every rank leaves through MPI_Finalize
    } catch (const std::exception& e) {
      // The other ranks wait for messages that will not come: end the whole job with this error's code.
      if (common::prints_error(e, mpi.rank()))
        std::cerr << "signsweep: error (rank " << mpi.rank() << "): " << without_backtrace(e.what()) << "\n";
      abort_job(exit_code_for(e));
    }
  }
  return exit_code_of(s, options.out);
}

}  // namespace signsweep::orchestrator
