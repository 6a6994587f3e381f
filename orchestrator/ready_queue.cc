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
      ready_.push_back(std::move(i));
      continue;
    }
    for (const std::string& need : unmet) dependents_[need].push_back(i.task.id);
    const std::string id = i.task.id;
    waiting_.emplace(id, Waiting{std::move(i), static_cast<int64_t>(unmet.size())});
  }
  sort_ready();
}

WorkItem ReadyQueue::take_for(int group, const std::map<std::string, int>& ran_by) {
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
    ready_.push_back(std::move(w->second.item));
    waiting_.erase(w);
  }
  sort_ready();
}

void ReadyQueue::requeue(WorkItem item) {
  ready_.push_back(std::move(item));
  sort_ready();
}

void ReadyQueue::sort_ready() {
  std::stable_sort(ready_.begin(), ready_.end(),
                   [](const WorkItem& a, const WorkItem& b) { return a.expected_cost > b.expected_cost; });
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
