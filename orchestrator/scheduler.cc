#include "orchestrator/scheduler.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "comm/idle_backoff.h"
#include "common/errors.h"

namespace signsweep::orchestrator {

SchedulerStats schedule(comm::Mailbox& mailbox, const std::vector<int>& leaders, std::vector<WorkItem> items,
                        const std::set<std::string>& finished_parents, const SchedulerCallbacks& callbacks,
                        const std::function<bool()>& stop_requested) {
  const auto start = std::chrono::steady_clock::now();
  SchedulerStats stats;
  ReadyQueue queue(std::move(items), finished_parents);
  std::map<int, int> group_of_rank;
  for (size_t g = 0; g < leaders.size(); ++g) group_of_rank[leaders[g]] = static_cast<int>(g);
  std::vector<bool> idle(leaders.size(), false);
  std::map<int, WorkItem> running;  // group -> item
  std::map<std::string, int> ran_by;
  bool stopping = false;
  int64_t unsent = 0;  // taken from the queue, but on_dispatch refused to send it
  const auto stop_asked = [&] { return stop_requested && stop_requested(); };

  const auto dispatch = [&] {
    for (size_t g = 0; g < leaders.size() && !stopping && !stop_asked(); ++g) {
      if (!idle[g] || !queue.has_ready()) continue;
      WorkItem w = queue.take_for(static_cast<int>(g), ran_by);
      if (callbacks.on_dispatch && !callbacks.on_dispatch(w, static_cast<int>(g))) {
        ++unsent;
        continue;
      }
      mailbox.send(leaders[g], comm::kTask, comm::encode(w.task));
      idle[g] = false;
      ran_by[w.task.id] = static_cast<int>(g);
      running.emplace(static_cast<int>(g), std::move(w));
      ++stats.dispatched;
    }
    if (callbacks.on_queue) callbacks.on_queue(queue.ready_count());
  };

  // No trial starts after a stop; the running ones are asked to stop after their step (training trials save
  // their resumable state; attacks and null checks, short, run to their end).
  const auto stop = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    spdlog::warn("{}: no new trials; interrupting {} running trial(s)", why, running.size());
    for (const auto& [group, item] : running) mailbox.send(leaders[static_cast<size_t>(group)], comm::kInterrupt, "");
  };

  comm::IdleBackoff backoff;  // no message: sleep, so that rank 0 leaves its node's cores to the workers
  while (true) {
    if (stop_asked()) stop("stop requested");
    const bool work_left = !stopping && (queue.has_ready() || queue.has_waiting());
    if (running.empty() && !work_left) break;
    const std::optional<comm::Envelope> message = mailbox.poll();
    if (!message) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    const std::string& payload = message->payload;
    const auto g_it = group_of_rank.find(message->from);
    if (g_it == group_of_rank.end()) throw Error("scheduler: message from a rank that leads no group");
    const int g = g_it->second;
    switch (message->tag) {
      case comm::kReady:
        idle[static_cast<size_t>(g)] = true;
        break;
      case comm::kProgress:
        if (callbacks.on_progress) callbacks.on_progress(comm::decode_progress(payload));
        break;
      case comm::kResult: {
        const comm::Result r = comm::decode_result(payload);
        auto it = running.find(g);
        if (it == running.end()) throw Error("scheduler: a result from a group that runs nothing");
        if (callbacks.on_result) callbacks.on_result(it->second, g, r);
        if (r.interrupted) stop("a worker group was interrupted (its ranks were signalled)");
        queue.finished(r.id, r.ok);
        running.erase(it);
        idle[static_cast<size_t>(g)] = true;
        ++stats.finished;
        break;
      }
      default:
        throw Error("scheduler: unexpected message tag");
    }
    dispatch();
  }
  for (const int leader : leaders) mailbox.send(leader, comm::kStop, "");
  stats.dropped = queue.dropped() + queue.remaining() + unsent;  // parent failed, not dispatched after a stop, unsent
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace signsweep::orchestrator
