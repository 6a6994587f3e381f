#include "orchestrator/execute.h"

#include <chrono>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "comm/collective.h"
#include "common/build_info.h"
#include "common/config.h"
#include "workers/jobs.h"

namespace signsweep::orchestrator {
namespace {

void add_verification(const workers::VerificationReport& v, const std::string& suffix, std::map<std::string, double>& out) {
  if (!v.watermarked) return;
  out["ber_white_box" + suffix] = v.ber_white_box;
  out["p_value" + suffix] = v.p_value;
  out["owned" + suffix] = v.owned ? 1.0 : 0.0;
  for (const auto& r : v.remote) out[fmt::format("ber_remote_h{:g}{}", r.h, suffix)] = r.ber;
}

void run_embed(const comm::Task& task, comm::Collective* group, const ProgressSink& progress, const std::string& device,
               comm::Result& r) {
  workers::TrialConfig config =
      workers::parse_trial_config(common::ConfigNode::load_string(task.config_yaml, "trial " + task.id));
  config.yaml = task.config_yaml;
  const workers::TrainOutcome out =
      workers::train_trial(config, task.checkpoint, {group, progress, task.time_limit_s, device});
  r.results["test_accuracy"] = out.test_accuracy;
  r.results["seconds"] = out.seconds;
  r.results["images_per_second"] = out.images_per_second;
  r.results["parameters"] = static_cast<double>(out.parameters);
  add_verification(out.verification, "", r.results);
  r.series = out.series;
}

void run_attack(const comm::Task& task, const std::string& device, comm::Result& r) {
  const workers::AttackSpec spec =
      workers::parse_attack_spec(common::ConfigNode::load_string(task.config_yaml, "trial " + task.id));
  workers::AttackOptions options;
  options.device = device;
  const workers::AttackReport a = workers::run_attack(task.parent_checkpoint, spec, options);
  r.results["accuracy_before"] = a.accuracy_before;
  r.results["test_accuracy"] = a.accuracy_after;
  r.results["seconds"] = a.seconds;
  add_verification(a.before, "_before", r.results);
  add_verification(a.after, "", r.results);
  for (const auto& [k, v] : a.figures) r.results[k] = v;
}

}  // namespace

std::string now_iso8601() {  // UTC with milliseconds: orders trials that start within one second
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  return fmt::format("{}.{:03d}Z", buf, ms);
}

std::map<std::string, std::string> provenance(int ranks, const std::string& host, const std::string& device) {
  return {{"git_commit", common::git_commit()},
          {"git_dirty", common::git_dirty() ? "true" : "false"},
          {"signsweep_version", common::signsweep_version()},
          {"libraries", common::library_versions()},
          {"host", host},
          {"ranks", std::to_string(ranks)},
          {"device", device},
          {"started", now_iso8601()}};
}

comm::Result execute_task(const comm::Task& task, comm::Collective* group, const ProgressSink& progress,
                          const std::string& device) {
  comm::Result r;
  r.id = task.id;
  const bool leader = group == nullptr || group->rank() == 0;
  try {
    if (task.kind == "sleep") {
      if (leader) std::this_thread::sleep_for(std::chrono::duration<double>(std::stod(task.config_yaml)));
    } else if (task.kind == "embed") {
      run_embed(task, group, progress, device, r);
    } else if (leader) {
      run_attack(task, device, r);
    }
    r.ok = true;
  } catch (const std::exception& e) {
    r.ok = false;
    r.error = without_backtrace(e.what());
  }
  return r;
}

}  // namespace signsweep::orchestrator
