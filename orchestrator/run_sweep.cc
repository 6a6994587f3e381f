#include "orchestrator/run_sweep.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/build_info.h"
#include "workers/jobs.h"

namespace signsweep::orchestrator {
namespace {

using storage::TrialRecord;
using storage::TrialState;

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::map<std::string, std::string> provenance() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return {{"git_commit", common::git_commit()},
          {"git_dirty", common::git_dirty() ? "true" : "false"},
          {"signsweep_version", common::signsweep_version()},
          {"libraries", common::library_versions()},
          {"host", host},
          {"ranks", "1"},
          {"device", "cpu"},
          {"started", now_iso8601()}};
}

void add_verification(const workers::VerificationReport& v, const std::string& suffix, std::map<std::string, double>& out) {
  if (!v.watermarked) return;
  out["ber_white_box" + suffix] = v.ber_white_box;
  out["p_value" + suffix] = v.p_value;
  out["owned" + suffix] = v.owned ? 1.0 : 0.0;
  for (const auto& r : v.remote) out[fmt::format("ber_remote_h{:g}{}", r.h, suffix)] = r.ber;
}

void run_embed(const storage::ResultsStore& store, const SweepTrial& t, TrialRecord& r) {
  const std::string checkpoint = store.checkpoint_path(t.planned.id);
  const workers::TrainOutcome out = workers::train_trial(t.config, checkpoint);
  r.results["test_accuracy"] = out.test_accuracy;
  r.results["seconds"] = out.seconds;
  r.results["images_per_second"] = out.images_per_second;
  r.results["parameters"] = static_cast<double>(out.parameters);
  add_verification(out.verification, "", r.results);
  r.series = out.series;
  r.checkpoint = "checkpoints/" + t.planned.id + ".h5";
}

void run_attack_trial(const storage::ResultsStore& store, const SweepTrial& t, TrialRecord& r) {
  const workers::AttackReport a = workers::run_attack(store.checkpoint_path(t.planned.parent), t.attack, {});
  r.results["accuracy_before"] = a.accuracy_before;
  r.results["test_accuracy"] = a.accuracy_after;
  r.results["seconds"] = a.seconds;
  add_verification(a.before, "_before", r.results);
  add_verification(a.after, "", r.results);
  for (const auto& [k, v] : a.figures) r.results[k] = v;
}

bool should_run(const TrialRecord& r, const RunOptions& options, int64_t max_retries) {
  switch (r.state) {
    case TrialState::kDone: return false;
    case TrialState::kFailed: return options.retry_failed && r.attempts <= max_retries;
    default: return true;  // pending, or running when the last run died
  }
}

}  // namespace

RunSummary run_sweep_in_process(const Sweep& sweep, const RunOptions& options) {
  std::vector<storage::PlannedTrial> plan;
  for (const SweepTrial& t : sweep.trials) plan.push_back(t.planned);
  const storage::ResultsStore store =
      storage::ResultsStore::open_for_sweep(options.out, sweep.identity, plan, options.extend, options.durable);
  std::map<std::string, TrialState> state;
  for (const TrialRecord& r : store.read_all(false)) state[r.trial.id] = r.state;
  RunSummary summary;
  const int64_t total = static_cast<int64_t>(sweep.trials.size());
  int64_t index = 0;
  for (const SweepTrial& t : sweep.trials) {
    ++index;
    TrialRecord r = *store.read(t.planned.id, false);
    if (r.state == TrialState::kDone) ++summary.skipped;
    if (!should_run(r, options, sweep.max_retries)) continue;
    if (t.is_attack && state[t.planned.parent] != TrialState::kDone) continue;  // parent failed: stays pending
    spdlog::info("trial {}/{} {} [{}] {}", index, total, t.planned.id, t.planned.kind, t.planned.label);
    r.trial = t.planned;
    r.state = TrialState::kRunning;
    r.error.clear();
    r.attempts += 1;
    r.provenance = provenance();
    r.results.clear();
    r.series.clear();
    store.write_trial(r);
    try {
      if (t.is_attack) run_attack_trial(store, t, r);
      else run_embed(store, t, r);
      r.state = TrialState::kDone;
    } catch (const std::exception& e) {
      r.state = TrialState::kFailed;
      r.error = std::string(e.what()).substr(0, std::string(e.what()).find("\nException raised from"));
      spdlog::error("trial {} failed: {}", t.planned.id, r.error);
    }
    r.provenance["finished"] = now_iso8601();
    store.write_trial(r);
    state[t.planned.id] = r.state;
    ++summary.ran;
  }
  for (const auto& [id, s] : state) {
    summary.done += s == TrialState::kDone;
    summary.failed += s == TrialState::kFailed;
    summary.pending += s == TrialState::kPending || s == TrialState::kRunning;
  }
  return summary;
}

}  // namespace signsweep::orchestrator
