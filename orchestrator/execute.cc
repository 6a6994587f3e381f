#include "orchestrator/execute.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "comm/collective.h"
#include "common/build_info.h"
#include "common/config.h"
#include "common/errors.h"
#include "storage/results_store.h"
#include "workers/attacks/attack_runner.h"
#include "workers/train_job.h"
#include "workers/verify_job.h"

namespace signsweep::orchestrator {
namespace {

void run_training(const comm::Task& task, const TaskContext& context, comm::Result& r) {
  workers::TrialConfig config =
      workers::parse_trial_config(common::ConfigNode::load_string(task.config_yaml, "trial " + task.id));
  const workers::TrainOutcome out = workers::train_trial(
      config, task.checkpoint, {context.group, context.progress, task.time_limit_s, context.device, task.state, context.stop_requested});
  r.results = workers::results_of(out);
  r.series = out.series;
}

void run_attack(const comm::Task& task, const TaskContext& context, comm::Result& r) {
  const workers::AttackSpec spec =
      workers::parse_attack_spec(common::ConfigNode::load_string(task.config_yaml, "trial " + task.id));
  workers::AttackOptions options;
  options.device = context.device;
  options.on_step = context.alive;
  r.results = workers::results_of(workers::run_attack(task.parent_checkpoint, spec, options));
}

// The owner's watermark read from its model and from each null model (on the CPU, like `verify`).
void run_null_check(const comm::Task& task, const TaskContext& context, comm::Result& r) {
  const auto start = std::chrono::steady_clock::now();
  workers::VerifyOptions options;
  options.null_models = task.null_checkpoints;
  options.on_null_model = context.alive;
  const workers::VerificationReport v = workers::verify_checkpoint(task.parent_checkpoint, options);
  r.results = workers::null_check_results_of(v, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// A model given to the sweep, validated and copied into the store; its recorded metrics become the trial's.
void run_checkpoint_copy(const comm::Task& task, comm::Result& r) {
  const common::ConfigNode node = common::ConfigNode::load_string(task.config_yaml, "trial " + task.id);
  const std::string source = node.get<std::string>("checkpoint");
  const std::string planned_hash = node.get<std::string>("content_hash", "");
  r.results = core::TrialResults::from_scalars(workers::adopt_checkpoint(source, task.checkpoint, planned_hash));
}

}  // namespace

comm::Progress progress_message(const std::string& id, int group, const workers::StepProgress& p, UnsentSteps& unsent) {
  unsent.steps.add(p.step_seconds);
  unsent.allreduce.add(p.allreduce_seconds);
  unsent.images += p.images;
  return {id, group, p.epoch, p.step, p.steps, p.loss, p.train_accuracy, p.bit_accuracy, p.images_per_second,
          unsent.steps, unsent.allreduce, unsent.images};
}

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

comm::Result execute_task(const comm::Task& task, const TaskContext& context) {
  comm::Result r;
  r.id = task.id;
  const bool leader = context.group == nullptr || context.group->rank() == 0;
  try {
    // Training runs on every rank of the group (data-parallel); the other stages on its leader alone.
    if (task.kind.trains_model()) {
      run_training(task, context, r);
    } else if (leader) {
      switch (task.kind.stage) {
        case core::Stage::kAttack: run_attack(task, context, r); break;
        case core::Stage::kNullCheck: run_null_check(task, context, r); break;
        case core::Stage::kCheckpoint: run_checkpoint_copy(task, r); break;
        case core::Stage::kEmbed:
        case core::Stage::kNullModel: break;  // trained above
      }
    }
    r.ok = true;
  } catch (const Interrupted& e) {
    r.interrupted = true;
    r.error = e.what();
  } catch (const WriteError& e) {  // the store's disk, not the trial: the run stops, the trial stays pending
    r.store_failed = true;
    r.error = without_backtrace(e.what());
  } catch (const std::exception& e) {
    r.ok = false;
    r.error = without_backtrace(e.what());
  }
  return r;
}

}  // namespace signsweep::orchestrator
