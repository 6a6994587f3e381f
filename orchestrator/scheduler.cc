#include "orchestrator/scheduler.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "comm/idle_backoff.h"
#include "common/errors.h"

namespace signsweep::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;

// One scheduling run: the queue, the groups' states and the rules of scheduler.h.
class Scheduler {
 public:
  Scheduler(comm::Mailbox& mailbox, const std::vector<int>& leaders, std::vector<WorkItem> items,
            const std::set<std::string>& finished_parents, const SchedulerCallbacks& callbacks,
            const std::function<bool()>& stop_requested, const SchedulerOptions& options)
      : mailbox_(mailbox), leaders_(leaders), callbacks_(callbacks), stop_requested_(stop_requested), options_(options),
        queue_(std::move(items), finished_parents), groups_(leaders.size()) {
    for (size_t g = 0; g < leaders.size(); ++g) group_of_rank_[leaders[g]] = static_cast<int>(g);
  }

  SchedulerStats run() {
    const auto start = Clock::now();
    comm::IdleBackoff backoff;  // no message: wait without spinning, so that rank 0 leaves its node's cores to the workers
    while (true) {
      if (stop_asked()) stop("stop requested");
      if (Clock::now() >= next_silence_check_) declare_silent_groups_lost();
      const bool work_left = !stopping_ && (queue_.has_ready() || queue_.has_waiting()) && live_groups() > 0;
      if (running_.empty() && !work_left) break;
      const std::optional<comm::Envelope> message = mailbox_.poll();
      if (!message) {
        mailbox_.idle(backoff);
        continue;
      }
      backoff.reset();
      receive(*message);
      dispatch();
    }
    for (size_t g = 0; g < leaders_.size(); ++g)
      if (!groups_[g].lost) mailbox_.send(leaders_[g], comm::kStop, "");  // a lost group may never read it
    // Parent failed, not dispatched after a stop (or with every group lost), or unsent.
    stats_.dropped = queue_.dropped() + queue_.remaining() + unsent_;
    stats_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return stats_;
  }

 private:
  struct Group {
    bool lost = false;
    Clock::time_point last_heard = Clock::now();
  };

  bool stop_asked() const { return stop_requested_ && stop_requested_(); }
  int64_t live_groups() const { return static_cast<int64_t>(groups_.size()) - stats_.lost_groups; }

  // Idle groups in their order take the ready trials; O(idle groups) per call, not O(groups).
  void dispatch() {
    for (auto it = idle_.begin(); it != idle_.end() && queue_.has_ready() && !stopping_ && !stop_asked();) {
      const int g = *it;
      WorkItem w = queue_.take_for(g, ran_by_);
      if (callbacks_.on_dispatch && !callbacks_.on_dispatch(w, g)) {
        ++unsent_;
        continue;
      }
      mailbox_.send(leaders_[static_cast<size_t>(g)], comm::kTask, comm::encode(w.task));
      it = idle_.erase(it);
      groups_[static_cast<size_t>(g)].last_heard = Clock::now();  // its silence counts from its task
      ran_by_[w.task.id] = g;
      running_.emplace(g, std::move(w));
      ++stats_.dispatched;
    }
    if (callbacks_.on_queue) callbacks_.on_queue(queue_.ready_count());
  }

  // No trial starts after a stop; the running ones are asked to stop after their step (training trials save
  // their resumable state; attacks and null checks, short, run to their end).
  void stop(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    spdlog::warn("{}: no new trials; interrupting {} running trial(s)", why, running_.size());
    for (const auto& [group, item] : running_) mailbox_.send(leaders_[static_cast<size_t>(group)], comm::kInterrupt, "");
  }

  void receive(const comm::Envelope& message) {
    const auto g_it = group_of_rank_.find(message.from);
    if (g_it == group_of_rank_.end()) throw Error("scheduler: message from a rank that leads no group");
    const int g = g_it->second;
    Group& group = groups_[static_cast<size_t>(g)];
    if (group.lost) {
      refuse(message, g);
      return;
    }
    group.last_heard = Clock::now();
    if (callbacks_.on_heard) callbacks_.on_heard(g);
    switch (message.tag) {
      case comm::kReady:
        idle_.insert(g);
        break;
      case comm::kHeartbeat:
        break;
      case comm::kProgress:
        if (callbacks_.on_progress) callbacks_.on_progress(comm::decode_progress(message.payload));
        break;
      case comm::kResult:
        record_result(g, comm::decode_result(message.payload));
        break;
      default:
        throw Error("scheduler: unexpected message tag");
    }
  }

  void record_result(int g, const comm::Result& r) {
    auto it = running_.find(g);
    if (it == running_.end()) throw Error("scheduler: a result from a group that runs nothing");
    if (callbacks_.on_result) callbacks_.on_result(it->second, g, r);
    if (r.interrupted) stop("a worker group was interrupted (its ranks were signalled)");
    queue_.finished(r.id, r.ok);
    running_.erase(it);
    idle_.insert(g);
    ++stats_.finished;
  }

  // A lost group woke up (SIGCONT, the filesystem came back): what it sends is not taken. Its trial runs (or
  // ran) on another group from its last saved state, with paths of its own: nothing it wrote is read.
  void refuse(const comm::Envelope& message, int g) {
    if (message.tag != comm::kResult) return;
    ++stats_.refused;
    spdlog::warn("group {} (lost) answered late for trial {}: refused (the trial was handed to another group)", g,
                 comm::decode_result(message.payload).id);
  }

  void declare_silent_groups_lost() {
    next_silence_check_ = Clock::now() + std::chrono::milliseconds(250);
    if (options_.lost_after_s <= 0.0) return;
    for (auto it = running_.begin(); it != running_.end();) {
      const int g = it->first;
      Group& group = groups_[static_cast<size_t>(g)];
      const double silent_s = std::chrono::duration<double>(Clock::now() - group.last_heard).count();
      if (silent_s <= options_.lost_after_s) {
        ++it;
        continue;
      }
      group.lost = true;
      ++stats_.lost_groups;
      if (callbacks_.on_lost) callbacks_.on_lost(it->second, g, silent_s);
      queue_.requeue(std::move(it->second));
      it = running_.erase(it);
    }
    dispatch();
  }

  comm::Mailbox& mailbox_;
  const std::vector<int>& leaders_;
  const SchedulerCallbacks& callbacks_;
  const std::function<bool()>& stop_requested_;
  const SchedulerOptions options_;
  ReadyQueue queue_;
  std::vector<Group> groups_;
  std::set<int> idle_;  // ready for a task (they said so, or answered their last)
  std::map<int, int> group_of_rank_;
  std::map<int, WorkItem> running_;  // group -> item
  std::map<std::string, int> ran_by_;
  bool stopping_ = false;
  int64_t unsent_ = 0;  // taken from the queue, but on_dispatch refused to send it
  Clock::time_point next_silence_check_ = Clock::now();
  SchedulerStats stats_;
};

}  // namespace

SchedulerStats schedule(comm::Mailbox& mailbox, const std::vector<int>& leaders, std::vector<WorkItem> items,
                        const std::set<std::string>& finished_parents, const SchedulerCallbacks& callbacks,
                        const std::function<bool()>& stop_requested, const SchedulerOptions& options) {
  return Scheduler(mailbox, leaders, std::move(items), finished_parents, callbacks, stop_requested, options).run();
}

}  // namespace signsweep::orchestrator
