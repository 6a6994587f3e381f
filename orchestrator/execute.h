// One trial, as any rank runs it: comm::Task in, comm::Result out. Shared by the one-process mode and
// the MPI worker groups, so both run exactly the same code. Torch-free (the verbs: workers/train_job.h, verify_job.h, attacks/attack_runner.h).
#pragma once

#include <functional>

#include "comm/messages.h"
#include "workers/train/step_progress.h"

namespace signsweep::comm {
class Collective;
}

namespace signsweep::orchestrator {

using ProgressSink = std::function<void(const workers::StepProgress&)>;

// Runs the task; never throws for a trial's own failure (ok = false with the message). In a group, every
// rank of the group calls it: training trials train data-parallel; attacks and null checks run on group
// rank 0 alone.
// `device`: this rank's ("cpu" or "cuda:K"), fixed for the run.
// `stop_requested` (may be empty) is polled after every training step: true makes a training trial save its
// resumable state and end as an interrupted Result (attacks and null checks run to their end: they are short
// and restart from scratch).
comm::Result execute_task(const comm::Task& task, comm::Collective* group, const ProgressSink& progress,
                          const std::string& device = "cpu", const std::function<bool()>& stop_requested = {});

// What runs a task: execute_task, or a stand-in a benchmark gives (bench/scheduler_bench.cc sleeps).
using TaskExecutor = std::function<comm::Result(const comm::Task&, comm::Collective*, const ProgressSink&,
                                                const std::string& device, const std::function<bool()>& stop_requested)>;

// The message of a trainer's report; its step and allreduce durations are added to `steps` / `allreduce`
// (which may hold those of reports not sent yet) and travel binned.
comm::Progress progress_message(const std::string& id, int group, const workers::StepProgress& p, comm::DurationBins& steps,
                                comm::DurationBins& allreduce);

// Provenance of a trial record: this build (git, versions), where it runs (host, ranks, device) and when
// it starts. `host` and `device` are the worker group's (rank 0 writes the record).
std::map<std::string, std::string> provenance(int ranks, const std::string& host, const std::string& device);
std::string now_iso8601();

}  // namespace signsweep::orchestrator
