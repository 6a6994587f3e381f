// One trial, as any rank runs it: comm::Task in, comm::Result out. Shared by the one-process mode and
// the MPI worker groups, so both run exactly the same code. Torch-free (the verbs: workers/train_job.h, verify_job.h, attacks/attack_runner.h).
#pragma once

#include <functional>
#include <string>

#include "comm/messages.h"
#include "workers/train/step_progress.h"

namespace signsweep::comm {
class Collective;
}

namespace signsweep::orchestrator {

using ProgressSink = std::function<void(const workers::StepProgress&)>;

// Where a task runs, and what it reports while it runs.
struct TaskContext {
  comm::Collective* group = nullptr;  // the group's ranks (data-parallel training); null for a group of one
  ProgressSink progress;              // the trainer's reports (may be empty)
  std::string device = "cpu";         // this rank's ("cpu" or "cuda:K"), fixed for the run
  // Polled after every training step (may be empty): true makes a training trial save its resumable state and
  // end as an interrupted Result (attacks and null checks run to their end: they are short and restart from
  // scratch). The worker loop also sends its heartbeat from here.
  std::function<bool()> stop_requested;
  // Called as an attack or null check advances (every fine-tuning step, every null model; may be empty): their
  // heartbeat.
  std::function<void()> alive;
};

// Runs the task; never throws for a trial's own failure (ok = false with the message). In a group, every
// rank of the group calls it: training trials train data-parallel; attacks and null checks run on group
// rank 0 alone.
comm::Result execute_task(const comm::Task& task, const TaskContext& context);

// What runs a task: execute_task, or a stand-in a benchmark gives (bench/scheduler_bench.cc sleeps).
using TaskExecutor = std::function<comm::Result(const comm::Task&, const TaskContext&)>;

// What a group's leader has measured since its last progress message (reports are sent at most twice a
// second): the steps' and allreduces' durations, binned, and the images trained on.
struct UnsentSteps {
  comm::DurationBins steps, allreduce;
  int64_t images = 0;
  void clear() {
    steps.clear();
    allreduce.clear();
    images = 0;
  }
};

// The message of a trainer's report; its durations and images are added to `unsent` (which may hold those of
// reports not sent yet) and travel with it.
comm::Progress progress_message(const std::string& id, int group, const workers::StepProgress& p, UnsentSteps& unsent);

// Provenance of a trial record: this build (git, versions), where it runs (host, ranks, device) and when
// it starts. `host` and `device` are the worker group's (rank 0 writes the record).
std::map<std::string, std::string> provenance(int ranks, const std::string& host, const std::string& device);
std::string now_iso8601();

}  // namespace signsweep::orchestrator
