#include "orchestrator/worker.h"

#include <chrono>
#include <functional>

#include "comm/collective.h"
#include "comm/mailbox.h"
#include "comm/messages.h"
#include "common/errors.h"

namespace signsweep::orchestrator {
namespace {

// The leader's next task payload, "" for stop; an interrupt that arrives while idle (its trial ended
// first) is dropped.
std::string next_task_payload(comm::LeaderLink& link) {
  while (true) {
    comm::Envelope message = link.wait();
    if (message.tag == comm::kInterrupt) continue;
    return message.tag == comm::kStop ? std::string() : std::move(message.payload);
  }
}

}  // namespace

void serve_tasks(const WorkerSide& side, const std::atomic<bool>* signalled, const TaskExecutor& execute) {
  const bool leader = side.group == nullptr || side.group->rank() == 0;
  if (leader && side.link == nullptr) throw Error("worker loop: the group's leader has no line to rank 0");
  if (leader) side.link->send(comm::kReady, "");
  bool interrupted = false;  // rank 0 asked this group to stop (sticky: no new step after it)
  // Polled after every training step; in a group the leader's answer counts (trainer.h).
  const std::function<bool()> stop_requested = [&] {
    if (leader && !interrupted) interrupted = side.link->poll(comm::kInterrupt).has_value();
    return interrupted || (signalled != nullptr && signalled->load());
  };
  while (true) {
    std::string payload;
    if (leader) payload = next_task_payload(*side.link);
    if (side.group != nullptr) payload = side.group->broadcast(payload, 0);
    if (payload.empty()) return;
    const comm::Task task = comm::decode_task(payload);
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    comm::DurationBins steps, allreduce;  // every step since the last message sent
    const ProgressSink progress = [&](const workers::StepProgress& p) {
      if (!leader || !task.report_progress) return;
      const comm::Progress message = progress_message(task.id, side.index, p, steps, allreduce);
      const auto now = std::chrono::steady_clock::now();
      const bool epoch_end = p.step == p.steps;  // carries the epoch's accuracies and its last steps: always sent
      if (!epoch_end && now - last < std::chrono::milliseconds(500)) return;  // else at most 2 per second
      last = now;
      side.link->send(comm::kProgress, comm::encode(message));
      steps.clear();
      allreduce.clear();
    };
    const comm::Result result = execute(task, side.group, progress, side.device, stop_requested);
    if (leader) side.link->send(comm::kResult, comm::encode(result));
  }
}

}  // namespace signsweep::orchestrator
