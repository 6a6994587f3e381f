#include "orchestrator/run_sweep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "comm/in_process.h"
#include "common/errors.h"
#include "common/machine.h"
#include "common/secret.h"
#include "core/trial_results.h"
#include "orchestrator/execute.h"
#include "orchestrator/metrics.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/worker.h"
#include "workers/device/device.h"

namespace signsweep::orchestrator {
namespace {

using storage::TrialRecord;
using storage::TrialState;
using core::Stage;

bool should_run(const TrialRecord& r, const RunOptions& options, int64_t max_retries) {
  switch (r.state) {
    case TrialState::kDone: return false;
    case TrialState::kFailed: return options.retry_failed && r.attempts <= max_retries;
    default: return true;  // pending, or running when the last run died
  }
}

storage::ResultsStore open_store(const Sweep& sweep, const RunOptions& options) {
  std::vector<storage::PlannedTrial> plan;
  for (const SweepTrial& t : sweep.trials) plan.push_back(t.planned);
  return storage::ResultsStore::open_for_sweep(options.out, sweep.identity, plan, options.extend, options.durable);
}

// The config a worker runs: the planned one, plus the secrets that the store's secret derives and the sweep
// does not pin (a watermark's seed; an overwrite attacker's own seed). They travel in the task only: the plan,
// the trial's file, reports and exports keep the config without them.
std::string config_with_secrets(const SweepTrial& t, const storage::ResultsStore& store) {
  YAML::Node root;
  if (t.planned.kind.trains_model() && t.config.watermark.enabled && !t.config.watermark.seed_given) {
    root = YAML::Load(t.planned.config_yaml);
    root["watermark"]["seed"] = workers::derived_watermark_seed(store.secret(), t.config.trainer.seed, t.config.watermark);
  } else if (t.planned.kind == core::TrialKind::attack_of(core::AttackKind::kOverwrite) && !t.attack.watermark_seed_given) {
    root = YAML::Load(t.planned.config_yaml);
    root["watermark_seed"] = common::keyed_seed(store.secret(), "overwrite attacker v1|" + t.planned.id);
  } else {
    return t.planned.config_yaml;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

// The task, but for what is filled at dispatch (for_dispatch).
comm::Task task_of(const Sweep& sweep, const SweepTrial& t, const storage::ResultsStore& store) {
  comm::Task task;
  task.id = t.planned.id;
  task.kind = t.planned.kind;
  task.label = t.planned.label;
  task.time_limit_s = sweep.trial_time_limit_s;
  task.heartbeat_s = heartbeat_interval(sweep.lost_after_s);
  if (!t.planned.kind.writes_model()) task.parent_checkpoint = store.checkpoint_path(t.planned.parent);
  for (const std::string& need : t.planned.needs)
    if (t.planned.kind.stage == Stage::kNullCheck && need != t.planned.parent) task.null_checkpoints.push_back(store.checkpoint_path(need));
  return task;
}

// What a task gets when it is sent. Its config with secrets is made here, not when the run starts: it parses
// and emits a training trial's YAML (~0.2 ms), which for every pending trial of a 10^5-trial store delayed the
// first trial of a resume by seconds, and held a second copy of every config until its trial ran.
// Attempt `attempt` writes files of its own (states/<id>.<n>.pt, checkpoints/<id>.h5.attempt-<n>): a group
// declared lost that wakes up can only write its attempt's, which nobody reads once the trial moved on.
void for_dispatch(comm::Task& task, const SweepTrial& t, const storage::ResultsStore& store, int64_t attempt) {
  task.config_yaml = config_with_secrets(t, store);
  task.attempt = attempt;
  if (task.kind.writes_model()) task.checkpoint = store.staged_checkpoint_path(task.id, attempt);
  if (task.kind.trains_model()) {
    task.state = store.state_path(task.id, attempt);
    store.hand_over_state(task.id, attempt);
  }
}

// Training trials train for epochs x steps; attacks and null checks are a fraction of that (for longest-first).
double expected_cost(const SweepTrial& t) {
  switch (t.planned.kind.stage) {
    case Stage::kAttack: return t.attack.trains() ? 0.2 * static_cast<double>(t.attack.fine_tune.epochs) : 0.05;
    case Stage::kNullCheck: return 0.05 * static_cast<double>(t.planned.needs.size());
    case Stage::kCheckpoint: return 0.01;
    case Stage::kEmbed:
    case Stage::kNullModel: break;
  }
  return static_cast<double>(t.config.trainer.epochs) * static_cast<double>(std::max<int64_t>(t.config.trainer.steps_per_epoch, 100));
}

// The store, opened for writing before any trial runs: one that cannot be written (a read-only filesystem, no
// space for its index) is bad input for --out, named with the OS's reason (exit 2).
storage::ResultsStore open_writable_store(const Sweep& sweep, const RunOptions& options) {
  try {
    return open_store(sweep, options);
  } catch (const WriteError& e) {
    throw ConfigError(fmt::format("--out {}: the store cannot be written: {}", options.out, e.what()));
  }
}

// Every trial's record as the store holds it, read once when the run starts (this process is the only
// writer, so the copy stays current as it writes).
std::map<std::string, TrialRecord> read_records(const storage::ResultsStore& store) {
  std::map<std::string, TrialRecord> records;
  for (TrialRecord& r : store.read_all(false)) records[r.trial.id] = std::move(r);
  return records;
}

TrialRecord running_record(const TrialRecord& previous, const SweepTrial& t, int ranks, const std::string& host,
                           const std::string& device) {
  TrialRecord r = previous;
  r.trial = t.planned;
  r.state = TrialState::kRunning;
  r.error.clear();
  r.attempts += 1;
  r.provenance = provenance(ranks, host, device);
  const auto lost = previous.provenance.find("lost");  // the groups it was taken from stay on its record
  if (lost != previous.provenance.end()) r.provenance["lost"] = lost->second;
  r.results = {};
  r.series.clear();
  r.has_checkpoint = false;
  return r;
}

// An interrupted trial, or one whose write to the store failed, goes back to pending (its last resumable state
// stays for the relaunch); a trial that ended, done or failed, has its resumable state removed, and the model
// its attempt wrote becomes the trial's (WriteError when it cannot be moved: the run stops).
void finish_record(TrialRecord& r, comm::Result result, int64_t attempt, const storage::ResultsStore& store) {
  if (result.ok && r.trial.kind.writes_model()) {
    try {
      store.publish_checkpoint(r.trial.id, attempt);
    } catch (const DataError& e) {
      result.ok = false;
      result.error = e.what();
    }
  }
  r.error = result.error;
  if (result.interrupted || result.store_failed) {
    r.state = TrialState::kPending;
    r.provenance["interrupted"] = now_iso8601();
    spdlog::warn("trial {} [{}] {}: {}", r.trial.id, r.trial.kind.name(), r.trial.label, result.error);
    return;
  }
  r.state = result.ok ? TrialState::kDone : TrialState::kFailed;
  r.results = result.results;
  r.series = result.series;
  r.has_checkpoint = result.ok && r.trial.kind.writes_model();
  r.provenance["finished"] = now_iso8601();
  store.remove_states(r.trial.id, attempt);
  if (!result.ok) spdlog::error("trial {} [{}] {} failed: {}", r.trial.id, r.trial.kind.name(), r.trial.label, result.error);
}

// Trial states and the remaining-time estimate, mirrored into the metrics; the run's summary at the end. The
// counts by state change with each event (a sweep of 10^5 trials must not recount them per event).
class Progressboard {
 public:
  Progressboard(const std::map<std::string, TrialRecord>& records, SweepMetrics* metrics, int groups)
      : metrics_(metrics), groups_(groups) {
    for (const auto& [id, r] : records) {
      state_[id] = r.state;
      ++count_[r.state];
    }
    publish();
  }
  void set(const std::string& id, TrialState s) {
    TrialState& current = state_.at(id);
    --count_[current];
    ++count_[s];
    current = s;
    publish();
  }
  RunSummary summary(RunSummary s) const {
    s.done = count(TrialState::kDone);
    s.failed = count(TrialState::kFailed);
    s.pending = count(TrialState::kPending) + count(TrialState::kRunning);
    return s;
  }
  void finished(double seconds) {
    seconds_sum_ += seconds;
    ++finished_;
    publish();
  }

 private:
  int64_t count(TrialState s) const {
    const auto it = count_.find(s);
    return it == count_.end() ? 0 : it->second;
  }
  void publish() const {
    if (metrics_ == nullptr) return;
    std::map<std::string, int64_t> counts;
    for (const TrialState s : {TrialState::kPending, TrialState::kRunning, TrialState::kDone, TrialState::kFailed})
      counts[storage::to_string(s)] = count(s);
    metrics_->set_states(counts);
    if (finished_ > 0)
      metrics_->set_expected_remaining(seconds_sum_ / finished_ *
                                       static_cast<double>(count(TrialState::kPending) + count(TrialState::kRunning)) / groups_);
  }
  SweepMetrics* metrics_;
  int groups_;
  std::map<std::string, TrialState> state_;
  std::map<TrialState, int64_t> count_;
  double seconds_sum_ = 0.0;
  int64_t finished_ = 0;
};

// A result that could not be taken because the store could not be written: the trial stays pending.
comm::Result interrupted_by_store(comm::Result result, const WriteError& e) {
  result.ok = false;
  result.store_failed = true;
  result.error = e.what();
  return result;
}

// The wall-clock time `seconds` ago, as now_iso8601 writes it.
std::string iso8601_seconds_ago(double seconds) {
  const auto then = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                           std::chrono::duration<double>(seconds));
  const std::time_t t = std::chrono::system_clock::to_time_t(then);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The final BER a stage reports to the metrics (-1: none; API attacks: the first step's remote BER).
double final_ber(const comm::Result& r) {
  const core::TrialResults& results = r.results;
  if (!results.watermark) return -1.0;
  if (results.watermark->ber_white_box) return *results.watermark->ber_white_box;
  return results.watermark->ber_remote.empty() ? -1.0 : results.watermark->ber_remote.begin()->second;
}

// The worker group of a run without mpirun: serve_tasks on its own thread, over an in-process channel. When
// the scheduler leaves early (an error), the thread is interrupted (a training trial saves its resumable
// state after its step) and stopped before the run goes on.
class WorkerThread {
 public:
  WorkerThread(comm::InProcessChannel& channel, const std::string& device, const std::atomic<bool>* stop)
      : channel_(channel), thread_([&channel, device, stop] {
          try {
            serve_tasks({&channel.worker(), nullptr, 0, device}, stop);
          } catch (...) {
            channel.fail(std::current_exception());
          }
        }) {}
  ~WorkerThread() {
    channel_.scheduler().send(comm::InProcessChannel::kWorker, comm::kInterrupt, "");
    channel_.scheduler().send(comm::InProcessChannel::kWorker, comm::kStop, "");
    thread_.join();
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

 private:
  comm::InProcessChannel& channel_;
  std::thread thread_;
};

}  // namespace

RunSummary run_sweep(const Sweep& sweep, const RunOptions& options, const WorkerGroups& groups, comm::Mailbox& mailbox,
                     const std::atomic<bool>* stop, SweepMetrics* metrics,
                     const std::function<void(const std::string& store_dir)>& on_store_open) {
  const storage::ResultsStore store = open_writable_store(sweep, options);
  if (on_store_open) on_store_open(store.dir());
  // A write to the store that fails (WriteError: no space, read-only, quota) stops the run as a signal does:
  // no trial starts after it, the running ones stop after their step, and the run says why.
  std::string store_failure;
  const auto store_failed = [&](const std::string& message) {
    if (store_failure.empty()) spdlog::error("{}: no trial starts after this; stopping the running ones", message);
    if (store_failure.empty()) store_failure = message;
  };
  const auto record = [&](const TrialRecord& r) {
    try {
      store.write_trial(r);
      return true;
    } catch (const WriteError& e) {
      store_failed(e.what());
      return false;
    }
  };
  std::map<std::string, TrialRecord> records = read_records(store);
  Progressboard board(records, metrics, static_cast<int>(groups.leaders.size()));
  std::map<std::string, std::chrono::steady_clock::time_point> started;
  RunSummary summary;
  std::vector<WorkItem> items;
  std::set<std::string> finished;
  std::map<std::string, const SweepTrial*> by_id;
  for (const SweepTrial& t : sweep.trials) {
    by_id[t.planned.id] = &t;
    const TrialRecord& r = records.at(t.planned.id);
    if (r.state == TrialState::kDone) {
      finished.insert(t.planned.id);
      ++summary.skipped;
    }
    if (should_run(r, options, sweep.max_retries)) {
      WorkItem w{task_of(sweep, t, store), t.planned.parent, t.planned.needs, expected_cost(t)};
      w.task.report_progress = metrics != nullptr;
      items.push_back(std::move(w));
    }
  }
  const size_t to_run = items.size();
  SchedulerCallbacks callbacks;
  callbacks.on_dispatch = [&](WorkItem& w, int group) {
    const SweepTrial& t = *by_id.at(w.task.id);
    const size_t g = static_cast<size_t>(group);
    TrialRecord r = running_record(records.at(w.task.id), t, groups.ranks_per_trial, groups.hosts.at(g), groups.devices.at(g));
    r.provenance["group"] = std::to_string(group);
    try {
      for_dispatch(w.task, t, store, r.attempts);
    } catch (const WriteError& e) {
      store_failed(e.what());
      return false;
    }
    if (!record(r)) return false;  // not sent: the trial stays as the store has it
    board.set(w.task.id, TrialState::kRunning);
    started[w.task.id] = std::chrono::steady_clock::now();
    if (metrics != nullptr) metrics->on_dispatch(group, w.task.id, w.task.kind.name(), r.attempts);
    records[w.task.id] = std::move(r);
    spdlog::info("trial {}/{} {} [{}] {} -> group {}", started.size(), to_run, w.task.id, w.task.kind.name(), w.task.label,
                 group);
    return true;
  };
  callbacks.on_result = [&](const WorkItem& w, int group, const comm::Result& result) {
    TrialRecord& r = records.at(w.task.id);
    try {
      finish_record(r, result, w.task.attempt, store);
    } catch (const WriteError& e) {  // its model could not be moved into place: it stays pending
      store_failed(e.what());
      finish_record(r, interrupted_by_store(result, e), w.task.attempt, store);
    }
    summary.interrupted += result.interrupted;
    if (result.store_failed) store_failed(result.error);
    record(r);
    board.set(w.task.id, r.state);
    board.finished(std::chrono::duration<double>(std::chrono::steady_clock::now() - started.at(w.task.id)).count());
    if (metrics != nullptr) metrics->on_result(group, w.task.id, w.task.kind.name(), result.ok, final_ber(result));
    ++summary.ran;
  };
  callbacks.on_lost = [&](const WorkItem& w, int group, double silent_s) {
    const size_t g = static_cast<size_t>(group);
    const std::string what = fmt::format("group {} on {}: silent for {:.0f} s (since {}), declared lost at {}", group,
                                         groups.hosts.at(g), silent_s, iso8601_seconds_ago(silent_s), now_iso8601());
    spdlog::error("worker {}; trial {} goes back to the queue, to resume from its last saved state on another group; "
                  "group {} gets no more work", what, w.task.id, group);
    summary.lost_groups.push_back(what);
    TrialRecord& r = records.at(w.task.id);
    r.state = TrialState::kPending;
    r.error = "its worker " + what;
    r.provenance["lost"] = r.provenance.count("lost") ? r.provenance["lost"] + "; " + what : what;
    record(r);
    board.set(w.task.id, r.state);
    if (metrics != nullptr) metrics->on_lost(group);
  };
  if (metrics != nullptr) {
    callbacks.on_heard = [&](int group) { metrics->on_heard(group); };
    callbacks.on_progress = [&](const comm::Progress& p) { metrics->on_progress(p); };
    callbacks.on_queue = [&](int64_t ready) { metrics->set_queue(ready); };
  }
  const SchedulerStats stats = schedule(mailbox, groups.leaders, std::move(items), finished, callbacks,
                                        [&] { return (stop != nullptr && stop->load()) || !store_failure.empty(); },
                                        SchedulerOptions{groups.watched ? sweep.lost_after_s : 0.0});
  spdlog::info("scheduler: {} trials dispatched, {} finished, {} left pending, {:.1f} s{}", stats.dispatched, stats.finished,
               stats.dropped, stats.seconds,
               stats.lost_groups > 0 ? fmt::format("; {} group(s) lost, {} late result(s) refused", stats.lost_groups, stats.refused) : "");
  if (stop != nullptr && stop->load() && summary.interrupted == 0 && stats.dropped > 0) summary.interrupted = 1;
  summary.store_failure = store_failure;
  store.flush_catalog();  // the last records since the catalog's previous segment (a cache: a failure is logged)
  return board.summary(summary);
}

RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options, const std::string& device,
                                const std::atomic<bool>* stop, SweepMetrics* metrics) {
  comm::InProcessChannel channel;
  const WorkerThread worker(channel, device, stop);
  // One group on a thread of this process: no other group could take over its trial, so it is not watched.
  return run_sweep(sweep, options, {{comm::InProcessChannel::kWorker}, {common::host_name()}, {device}, 1, false},
                   channel.scheduler(), stop, metrics);
}

}  // namespace signsweep::orchestrator
