#include "orchestrator/worker.h"

#include <chrono>
#include <functional>

#include "comm/collective.h"
#include "comm/messages.h"
#include "comm/mpi_transport.h"
#include "orchestrator/execute.h"

namespace signsweep::orchestrator {

namespace {

// The next task for the group leader, "" for stop; an interrupt that arrives while idle (its trial ended
// first) is dropped.
std::string next_task_payload() {
  while (true) {
    comm::Envelope message = comm::wait_for_message(MPI_COMM_WORLD, 0);
    if (message.tag == comm::kInterrupt) continue;
    return message.tag == comm::kStop ? std::string() : std::move(message.payload);
  }
}

}  // namespace

void serve_worker_group(const MpiLayout& layout, const std::atomic<bool>* signalled) {
  comm::MpiCollective group(layout.group_comm);
  const bool leader = group.rank() == 0;
  if (leader) comm::send_string(MPI_COMM_WORLD, 0, comm::kReady, "");
  bool interrupted = false;  // rank 0 asked this group to stop (sticky: no new step after it)
  // Polled after every training step; in a group the leader's answer counts (trainer.h).
  const std::function<bool()> stop_requested = [&] {
    if (leader && !interrupted) interrupted = comm::receive_if_waiting(MPI_COMM_WORLD, 0, comm::kInterrupt).has_value();
    return interrupted || (signalled != nullptr && signalled->load());
  };
  while (true) {
    std::string payload;
    if (leader) payload = next_task_payload();
    payload = comm::broadcast_string(layout.group_comm, payload, 0);
    if (payload.empty()) return;
    const comm::Task task = comm::decode_task(payload);
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    comm::DurationBins steps, allreduce;  // every step since the last message sent
    const ProgressSink progress = [&](const workers::StepProgress& p) {
      if (!leader || !task.report_progress) return;
      const comm::Progress message = progress_message(task.id, layout.group, p, steps, allreduce);
      const auto now = std::chrono::steady_clock::now();
      const bool epoch_end = p.step == p.steps;  // carries the epoch's accuracies and its last steps: always sent
      if (!epoch_end && now - last < std::chrono::milliseconds(500)) return;  // else at most 2 per second
      last = now;
      comm::send_string(MPI_COMM_WORLD, 0, comm::kProgress, comm::encode(message));
      steps.clear();
      allreduce.clear();
    };
    const comm::Result result =
        execute_task(task, layout.ranks_per_trial > 1 ? &group : nullptr, progress, layout.device, stop_requested);
    if (leader) comm::send_string(MPI_COMM_WORLD, 0, comm::kResult, comm::encode(result));
  }
}

}  // namespace signsweep::orchestrator
