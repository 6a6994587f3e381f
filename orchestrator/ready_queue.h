// The ready queue of the scheduler: which trials may run now and which next.
//  - a trial is ready when every trial it needs has finished (in this job or before it: `finished`);
//  - a trial that needs one that is neither finished nor in this job (it failed before) is dropped, and so
//    is, transitively, every trial that needs a trial that fails in this job: they stay pending in the store;
//  - the longest expected first; among the equally long (the first kLocalityWindow of them, in the order they
//    became ready), one whose parent the asking group ran (its checkpoint is warm in that node's page cache).
// Every operation costs O(log L + kLocalityWindow) for L distinct expected costs: a sweep of 10^5 trials
// never re-sorts or scans its queue per event.
// MPI-free and clock-free: unit-tested alone (tests/unit/orchestrator/scheduler_test.cc).
// Thread-safety: one caller.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "comm/messages.h"

namespace signsweep::orchestrator {

struct WorkItem {
  comm::Task task;
  std::string parent;               // id of the trial whose model it reads ("" = none): locality tie-break
  std::vector<std::string> needs;   // ids of the trials that must finish first (the parent among them)
  double expected_cost = 1.0;
};

class ReadyQueue {
 public:
  ReadyQueue(std::vector<WorkItem> items, const std::set<std::string>& finished);

  static constexpr size_t kLocalityWindow = 64;

  bool has_ready() const { return ready_count_ > 0; }
  int64_t ready_count() const { return ready_count_; }
  bool has_waiting() const { return !waiting_.empty(); }

  // The next item for idle group `group` (has_ready() must hold); `ran_by`: trial id -> the group that ran it.
  WorkItem take_for(int group, const std::map<std::string, int>& ran_by);
  // Trial `id` ended: the trials waiting for it become ready when it is their last need (ok), or are
  // dropped with their dependants (not ok).
  void finished(const std::string& id, bool ok);
  // A taken item that did not end (its group was lost): ready again (its needs were met when it was taken).
  void requeue(WorkItem item);

  int64_t dropped() const { return dropped_; }
  int64_t remaining() const { return ready_count_ + static_cast<int64_t>(waiting_.size()); }

 private:
  struct Waiting {
    WorkItem item;
    int64_t unmet = 0;  // needs not finished yet
  };
  void make_ready(WorkItem item);
  // Drops waiting trials and, transitively, the trials that need them.
  void drop(const std::vector<std::string>& ids);

  std::map<double, std::deque<WorkItem>, std::greater<double>> ready_;  // by expected cost, longest first
  int64_t ready_count_ = 0;
  std::map<std::string, Waiting> waiting_;                     // id -> item with needs left
  std::map<std::string, std::vector<std::string>> dependents_;  // id -> ids of the waiting items that need it
  int64_t dropped_ = 0;
};

}  // namespace signsweep::orchestrator
