#include "orchestrator/scheduler.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/errors.h"

namespace signsweep::orchestrator {
namespace {

class Queue {
 public:
  Queue(std::vector<WorkItem> items, const std::set<std::string>& finished) {
    std::set<std::string> known;
    for (const auto& i : items) known.insert(i.task.id);
    for (auto& i : items) {
      std::vector<std::string> unmet;
      for (const std::string& need : i.needs)
        if (!finished.count(need)) unmet.push_back(need);
      if (std::any_of(unmet.begin(), unmet.end(), [&](const std::string& n) { return !known.count(n); })) {
        ++dropped_;  // a trial it needs is neither done nor in this job (failed before): stays pending
        continue;
      }
      if (unmet.empty()) {
        ready_.push_back(std::move(i));
        continue;
      }
      for (const std::string& need : unmet) dependents_[need].push_back(i.task.id);
      const std::string id = i.task.id;
      waiting_.emplace(id, Waiting{std::move(i), static_cast<int64_t>(unmet.size())});
    }
    sort_ready();
  }

  bool has_ready() const { return !ready_.empty(); }
  int64_t ready_count() const { return static_cast<int64_t>(ready_.size()); }
  bool has_waiting() const { return !waiting_.empty(); }

  // The next item for an idle group: the longest; among the equally long, one whose parent this group ran
  // (its checkpoint is warm in that node's page cache).
  WorkItem take_for(int group, const std::map<std::string, int>& ran_by) {
    const double longest = ready_.front().expected_cost;
    auto it = std::find_if(ready_.begin(), ready_.end(), [&](const WorkItem& w) {
      const auto r = ran_by.find(w.parent);
      return w.expected_cost == longest && r != ran_by.end() && r->second == group;
    });
    if (it == ready_.end()) it = ready_.begin();
    WorkItem w = std::move(*it);
    ready_.erase(it);
    return w;
  }

  void finished(const std::string& id, bool ok) {
    const auto it = dependents_.find(id);
    if (it == dependents_.end()) return;
    const std::vector<std::string> dependents = std::move(it->second);
    dependents_.erase(it);
    if (!ok) {
      drop(dependents);
      return;
    }
    for (const std::string& d : dependents) {
      const auto w = waiting_.find(d);
      if (w == waiting_.end() || --w->second.unmet > 0) continue;  // dropped already, or still waiting
      ready_.push_back(std::move(w->second.item));
      waiting_.erase(w);
    }
    sort_ready();
  }

  int64_t dropped() const { return dropped_; }
  int64_t remaining() const { return static_cast<int64_t>(ready_.size() + waiting_.size()); }

 private:
  struct Waiting {
    WorkItem item;
    int64_t unmet = 0;  // needs not finished yet
  };

  void sort_ready() {
    std::stable_sort(ready_.begin(), ready_.end(),
                     [](const WorkItem& a, const WorkItem& b) { return a.expected_cost > b.expected_cost; });
  }
  // Drops waiting trials and, transitively, the trials that need them.
  void drop(const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      if (waiting_.erase(id) == 0) continue;
      ++dropped_;
      const auto it = dependents_.find(id);
      if (it == dependents_.end()) continue;
      const std::vector<std::string> next = std::move(it->second);
      dependents_.erase(it);
      drop(next);
    }
  }

  std::vector<WorkItem> ready_;
  std::map<std::string, Waiting> waiting_;                     // id -> item with needs left
  std::map<std::string, std::vector<std::string>> dependents_;  // id -> ids of the waiting items that need it
  int64_t dropped_ = 0;
};

}  // namespace

SchedulerStats schedule(MPI_Comm world, const std::vector<int>& leaders, std::vector<WorkItem> items,
                        const std::set<std::string>& finished_parents, const SchedulerCallbacks& callbacks,
                        const std::atomic<bool>* stop_requested) {
  const auto start = std::chrono::steady_clock::now();
  SchedulerStats stats;
  Queue queue(std::move(items), finished_parents);
  std::map<int, int> group_of_rank;
  for (size_t g = 0; g < leaders.size(); ++g) group_of_rank[leaders[g]] = static_cast<int>(g);
  std::vector<bool> idle(leaders.size(), false);
  std::map<int, WorkItem> running;  // group -> item
  std::map<std::string, int> ran_by;
  bool stopping = false;

  const auto dispatch = [&] {
    for (size_t g = 0; g < leaders.size() && !stopping; ++g) {
      if (!idle[g] || !queue.has_ready()) continue;
      WorkItem w = queue.take_for(static_cast<int>(g), ran_by);
      if (callbacks.on_dispatch) callbacks.on_dispatch(w, static_cast<int>(g));
      comm::send_string(world, leaders[g], comm::kTask, comm::encode(w.task));
      idle[g] = false;
      ran_by[w.task.id] = static_cast<int>(g);
      running.emplace(static_cast<int>(g), std::move(w));
      ++stats.dispatched;
    }
    if (callbacks.on_queue) callbacks.on_queue(queue.ready_count());
  };

  while (true) {
    if (!stopping && stop_requested != nullptr && stop_requested->load()) {
      stopping = true;
      spdlog::warn("stop requested: no new trials; waiting for {} running trial(s) to finish", running.size());
    }
    const bool work_left = !stopping && (queue.has_ready() || queue.has_waiting());
    if (running.empty() && !work_left) break;
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, world, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    const std::string payload = comm::receive_probed(world, status);
    const auto g_it = group_of_rank.find(status.MPI_SOURCE);
    if (g_it == group_of_rank.end()) throw Error("scheduler: message from a rank that leads no group");
    const int g = g_it->second;
    switch (status.MPI_TAG) {
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
        if (callbacks.on_result) callbacks.on_result(it->second, r);
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
  for (const int leader : leaders) comm::send_string(world, leader, comm::kStop, "");
  stats.dropped = queue.dropped() + queue.remaining();  // parent failed, or not dispatched after a stop
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace signsweep::orchestrator
