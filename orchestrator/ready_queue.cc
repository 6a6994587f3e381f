#include "orchestrator/ready_queue.h"

#include <algorithm>

namespace signsweep::orchestrator {

ReadyQueue::ReadyQueue(std::vector<WorkItem> items, const std::set<std::string>& finished) {
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
      make_ready(std::move(i));
      continue;
    }
    for (const std::string& need : unmet) dependents_[need].push_back(i.task.id);
    const std::string id = i.task.id;
    waiting_.emplace(id, Waiting{std::move(i), static_cast<int64_t>(unmet.size())});
  }
}

WorkItem ReadyQueue::take_for(int group, const std::map<std::string, int>& ran_by) {
  const auto longest = ready_.begin();
  std::deque<WorkItem>& level = longest->second;
  const auto window_end = level.begin() + static_cast<std::ptrdiff_t>(std::min(level.size(), kLocalityWindow));
  auto it = std::find_if(level.begin(), window_end, [&](const WorkItem& w) {
    const auto r = ran_by.find(w.parent);
    return r != ran_by.end() && r->second == group;
  });
  if (it == window_end) it = level.begin();
  WorkItem w = std::move(*it);
  level.erase(it);
  if (level.empty()) ready_.erase(longest);
  --ready_count_;
  return w;
}

void ReadyQueue::finished(const std::string& id, bool ok) {
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
    make_ready(std::move(w->second.item));
    waiting_.erase(w);
  }
}

void ReadyQueue::requeue(WorkItem item) { make_ready(std::move(item)); }

// After the equally long ones already ready: the order they became ready in breaks ties.
void ReadyQueue::make_ready(WorkItem item) {
  const double cost = item.expected_cost;
  ready_[cost].push_back(std::move(item));
  ++ready_count_;
}

void ReadyQueue::drop(const std::vector<std::string>& ids) {
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

}  // namespace signsweep::orchestrator
