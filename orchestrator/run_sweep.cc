#include "orchestrator/run_sweep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "comm/mpi_transport.h"
#include "common/errors.h"
#include "common/machine.h"
#include "common/secret.h"
#include "orchestrator/execute.h"
#include "orchestrator/metrics.h"
#include "orchestrator/scheduler.h"
#include "storage/trial_results.h"
#include "workers/device/device.h"

namespace signsweep::orchestrator {
namespace {

using storage::TrialRecord;
using storage::TrialState;

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
  if (t.stage == Stage::kTrain && t.config.watermark.enabled && !t.config.watermark.seed_given) {
    root = YAML::Load(t.planned.config_yaml);
    root["watermark"]["seed"] = workers::derived_watermark_seed(store.secret(), t.config.trainer.seed, t.config.watermark);
  } else if (t.stage == Stage::kAttack && t.attack.kind == workers::AttackKind::kOverwrite && !t.attack.watermark_seed_given) {
    root = YAML::Load(t.planned.config_yaml);
    root["watermark_seed"] = common::keyed_seed(store.secret(), "overwrite attacker v1|" + t.planned.id);
  } else {
    return t.planned.config_yaml;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

comm::Task task_of(const Sweep& sweep, const SweepTrial& t, const storage::ResultsStore& store, int64_t attempt) {
  comm::Task task;
  task.id = t.planned.id;
  task.kind = t.planned.kind;
  task.label = t.planned.label;
  task.config_yaml = config_with_secrets(t, store);
  task.attempt = attempt;
  task.time_limit_s = sweep.trial_time_limit_s;
  if (t.stage == Stage::kTrain) {
    task.checkpoint = store.checkpoint_path(t.planned.id);
    task.state = store.state_path(t.planned.id);
  } else if (t.stage == Stage::kCheckpoint) {
    task.checkpoint = store.checkpoint_path(t.planned.id);
  } else {
    task.parent_checkpoint = store.checkpoint_path(t.planned.parent);
  }
  for (const std::string& need : t.planned.needs)
    if (t.stage == Stage::kNullCheck && need != t.planned.parent) task.null_checkpoints.push_back(store.checkpoint_path(need));
  return task;
}

// Training trials train for epochs x steps; attacks and null checks are a fraction of that (for longest-first).
double expected_cost(const SweepTrial& t) {
  switch (t.stage) {
    case Stage::kAttack: return t.attack.trains() ? 0.2 * static_cast<double>(t.attack.fine_tune.epochs) : 0.05;
    case Stage::kNullCheck: return 0.05 * static_cast<double>(t.planned.needs.size());
    case Stage::kCheckpoint: return 0.01;
    case Stage::kTrain: break;
  }
  return static_cast<double>(t.config.trainer.epochs) * static_cast<double>(std::max<int64_t>(t.config.trainer.steps_per_epoch, 100));
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
  r.results.clear();
  r.series.clear();
  r.checkpoint.clear();
  return r;
}

// An interrupted trial goes back to pending (its resumable state stays for the relaunch); a trial that
// ended, done or failed, has its resumable state removed.
void finish_record(TrialRecord& r, const comm::Result& result, bool keeps_checkpoint, const storage::ResultsStore& store) {
  r.error = result.error;
  if (result.interrupted) {
    r.state = TrialState::kPending;
    r.provenance["interrupted"] = now_iso8601();
    spdlog::warn("trial {} [{}] {}: {}", r.trial.id, r.trial.kind, r.trial.label, result.error);
    return;
  }
  r.state = result.ok ? TrialState::kDone : TrialState::kFailed;
  r.results = result.results;
  r.series = result.series;
  if (result.ok && keeps_checkpoint) r.checkpoint = "checkpoints/" + r.trial.id + ".h5";
  r.provenance["finished"] = now_iso8601();
  std::filesystem::remove(store.state_path(r.trial.id));
  if (!result.ok) spdlog::error("trial {} [{}] {} failed: {}", r.trial.id, r.trial.kind, r.trial.label, result.error);
}

// Trial states and the remaining-time estimate, mirrored into the metrics; the run's summary at the end.
class Progressboard {
 public:
  Progressboard(const std::map<std::string, TrialRecord>& records, SweepMetrics* metrics, int groups)
      : metrics_(metrics), groups_(groups) {
    for (const auto& [id, r] : records) state_[id] = r.state;
    publish();
  }
  void set(const std::string& id, TrialState s) {
    state_[id] = s;
    publish();
  }
  TrialState state(const std::string& id) const { return state_.at(id); }
  RunSummary summary(RunSummary s) const {
    for (const auto& [id, st] : state_) {
      s.done += st == TrialState::kDone;
      s.failed += st == TrialState::kFailed;
      s.pending += st == TrialState::kPending || st == TrialState::kRunning;
    }
    return s;
  }
  void finished(double seconds) {
    seconds_sum_ += seconds;
    ++finished_;
    publish();
  }

 private:
  void publish() const {
    if (metrics_ == nullptr) return;
    std::map<std::string, int64_t> counts{{"pending", 0}, {"running", 0}, {"done", 0}, {"failed", 0}};
    for (const auto& [id, s] : state_) ++counts[storage::to_string(s)];
    metrics_->set_states(counts);
    if (finished_ > 0)
      metrics_->set_expected_remaining(seconds_sum_ / finished_ * static_cast<double>(counts["pending"] + counts["running"]) / groups_);
  }
  SweepMetrics* metrics_;
  int groups_;
  std::map<std::string, TrialState> state_;
  double seconds_sum_ = 0.0;
  int64_t finished_ = 0;
};

// The final BER a stage reports to the metrics (-1: none; API attacks: the first step's remote BER).
double final_ber(const comm::Result& r) {
  const storage::TrialResults results = storage::TrialResults::from_scalars(r.results);
  if (!results.watermark) return -1.0;
  if (results.watermark->ber_white_box) return *results.watermark->ber_white_box;
  return results.watermark->ber_remote.empty() ? -1.0 : results.watermark->ber_remote.begin()->second;
}

}  // namespace

RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options, const std::string& device,
                                const std::atomic<bool>* stop, SweepMetrics* metrics) {
  const auto stop_requested = [stop] { return stop != nullptr && stop->load(); };
  const storage::ResultsStore store = open_store(sweep, options);
  const std::map<std::string, TrialRecord> records = read_records(store);
  Progressboard board(records, metrics, 1);
  int64_t to_run = 0;
  for (const SweepTrial& t : sweep.trials) to_run += should_run(records.at(t.planned.id), options, sweep.max_retries);
  if (metrics != nullptr) metrics->set_queue(to_run);
  RunSummary summary;
  int64_t index = 0;
  for (const SweepTrial& t : sweep.trials) {
    ++index;
    const TrialRecord& before = records.at(t.planned.id);
    if (before.state == TrialState::kDone) ++summary.skipped;
    if (!should_run(before, options, sweep.max_retries)) continue;
    if (std::any_of(t.planned.needs.begin(), t.planned.needs.end(),
                    [&](const std::string& need) { return board.state(need) != TrialState::kDone; }))
      continue;  // a trial it needs failed (or was interrupted): stays pending
    if (stop_requested()) {
      ++summary.interrupted;  // asked to stop between trials: nothing to save, the rest stays pending
      break;
    }
    spdlog::info("trial {}/{} {} [{}] {}", index, sweep.trials.size(), t.planned.id, t.planned.kind, t.planned.label);
    TrialRecord r = running_record(before, t, 1, common::host_name(), device);
    store.write_trial(r);
    board.set(t.planned.id, TrialState::kRunning);
    if (metrics != nullptr) {
      metrics->on_dispatch(0, t.planned.id, t.planned.kind, r.attempts);
      metrics->set_queue(--to_run);
    }
    const ProgressSink sink = [&](const workers::StepProgress& p) {
      if (metrics == nullptr) return;
      comm::DurationBins steps, allreduce;
      metrics->on_progress(progress_message(t.planned.id, 0, p, steps, allreduce));
    };
    const auto start = std::chrono::steady_clock::now();
    const comm::Result result = execute_task(task_of(sweep, t, store, r.attempts), nullptr, sink, device, stop_requested);
    finish_record(r, result, writes_model(t.stage), store);
    store.write_trial(r);
    board.set(t.planned.id, r.state);
    board.finished(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (metrics != nullptr) metrics->on_result(0, t.planned.id, t.planned.kind, result.ok, final_ber(result));
    ++summary.ran;
    if (result.interrupted) {
      ++summary.interrupted;
      break;
    }
  }
  return board.summary(summary);
}

RunSummary run_sweep_scheduler(const Sweep& sweep, const RunOptions& options, const MpiLayout& layout,
                               const std::atomic<bool>* stop, SweepMetrics* metrics) {
  const storage::ResultsStore store = open_store(sweep, options);
  check_store_is_shared(layout, store.dir());
  std::map<std::string, TrialRecord> records = read_records(store);
  Progressboard board(records, metrics, static_cast<int>(layout.leaders.size()));
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
      WorkItem w{task_of(sweep, t, store, r.attempts + 1), t.planned.parent, t.planned.needs, expected_cost(t)};
      w.task.report_progress = metrics != nullptr;
      items.push_back(std::move(w));
    }
  }
  SchedulerCallbacks callbacks;
  callbacks.on_dispatch = [&](const WorkItem& w, int group) {
    const SweepTrial& t = *by_id.at(w.task.id);
    TrialRecord r = running_record(records.at(w.task.id), t, layout.ranks_per_trial, layout.group_hosts(group),
                                   layout.group_devices(group));
    r.provenance["group"] = std::to_string(group);
    store.write_trial(r);
    board.set(w.task.id, TrialState::kRunning);
    started[w.task.id] = std::chrono::steady_clock::now();
    if (metrics != nullptr) metrics->on_dispatch(group, w.task.id, w.task.kind, r.attempts);
    records[w.task.id] = std::move(r);
    spdlog::info("trial {} [{}] {} -> group {}", w.task.id, w.task.kind, w.task.label, group);
  };
  callbacks.on_result = [&](const WorkItem& w, const comm::Result& result) {
    TrialRecord& r = records.at(w.task.id);
    finish_record(r, result, writes_model(by_id.at(w.task.id)->stage), store);
    summary.interrupted += result.interrupted;
    store.write_trial(r);
    board.set(w.task.id, r.state);
    board.finished(std::chrono::duration<double>(std::chrono::steady_clock::now() - started.at(w.task.id)).count());
    if (metrics != nullptr)
      metrics->on_result(std::stoi(r.provenance.at("group")), w.task.id, w.task.kind, result.ok, final_ber(result));
    ++summary.ran;
  };
  if (metrics != nullptr) {
    callbacks.on_progress = [&](const comm::Progress& p) { metrics->on_progress(p); };
    callbacks.on_queue = [&](int64_t ready) { metrics->set_queue(ready); };
  }
  comm::MpiMailbox mailbox(MPI_COMM_WORLD);
  const SchedulerStats stats = schedule(mailbox, layout.leaders, std::move(items), finished, callbacks, stop);
  spdlog::info("scheduler: {} trials dispatched, {} finished, {} left pending, {:.1f} s", stats.dispatched, stats.finished,
               stats.dropped, stats.seconds);
  if (stop != nullptr && stop->load() && summary.interrupted == 0 && stats.dropped > 0) summary.interrupted = 1;
  return board.summary(summary);
}

}  // namespace signsweep::orchestrator
