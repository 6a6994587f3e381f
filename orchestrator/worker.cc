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

// A leader's liveness towards rank 0 while a task runs: a heartbeat when nothing was sent for the task's
// heartbeat_s (any message counts). Called from the step loops, so a rank stuck in a step, an allreduce or
// a filesystem call sends none, which is what rank 0 watches for (scheduler.h).
class Heartbeat {
 public:
  Heartbeat(comm::LeaderLink* link, double every_s) : link_(link), every_(std::chrono::duration<double>(every_s)) {}
  void sent() { last_ = std::chrono::steady_clock::now(); }
  void beat() {
    if (link_ == nullptr || every_.count() <= 0.0 || std::chrono::steady_clock::now() - last_ < every_) return;
    link_->send(comm::kHeartbeat, "");
    sent();
  }

 private:
  comm::LeaderLink* link_;
  std::chrono::duration<double> every_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

void serve_tasks(const WorkerSide& side, const std::atomic<bool>* signalled, const TaskExecutor& execute) {
  const bool leader = side.group == nullptr || side.group->rank() == 0;
  if (leader && side.link == nullptr) throw Error("worker loop: the group's leader has no line to rank 0");
  if (leader) side.link->send(comm::kReady, "");
  bool interrupted = false;  // rank 0 asked this group to stop (sticky: no new step after it)
  while (true) {
    std::string payload;
    if (leader) payload = next_task_payload(*side.link);
    if (side.group != nullptr) payload = side.group->broadcast(payload, 0);
    if (payload.empty()) return;
    const comm::Task task = comm::decode_task(payload);
    Heartbeat heartbeat(leader ? side.link : nullptr, task.heartbeat_s);
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    UnsentSteps unsent;  // every step since the last message sent
    TaskContext context;
    context.group = side.group;
    context.device = side.device;
    context.progress = [&](const workers::StepProgress& p) {
      if (!leader || !task.report_progress) return;
      const comm::Progress message = progress_message(task.id, side.index, p, unsent);
      const auto now = std::chrono::steady_clock::now();
      const bool epoch_end = p.step == p.steps;  // carries the epoch's accuracies and its last steps: always sent
      if (!epoch_end && now - last < std::chrono::milliseconds(500)) return;  // else at most 2 per second
      last = now;
      side.link->send(comm::kProgress, comm::encode(message));
      heartbeat.sent();
      unsent.clear();
    };
    // Polled after every training step; in a group the leader's answer counts (trainer.h).
    context.stop_requested = [&] {
      heartbeat.beat();
      if (leader && !interrupted) interrupted = side.link->poll(comm::kInterrupt).has_value();
      return interrupted || (signalled != nullptr && signalled->load());
    };
    context.alive = [&] { heartbeat.beat(); };
    const comm::Result result = execute(task, context);
    if (leader) side.link->send(comm::kResult, comm::encode(result));
  }
}

}  // namespace signsweep::orchestrator
