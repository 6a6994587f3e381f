// Dynamic scheduling over worker groups (rank 0): hands ready trials to idle groups until none is left.
//  - ready: every trial it needs finished, in this job or before it; a trial one of whose needs fails is
//    dropped (it stays pending in the store), and so are the trials that need it;
//  - longest expected first; among equally long trials, one whose parent the idle group ran;
//  - a group is never idle while a ready trial waits: results, readiness and progress arrive on one
//    polled mailbox (comm/mailbox.h; MPI behind it), and dispatch happens on every arrival;
//  - a stop request (SIGTERM/SIGUSR1/SIGINT on rank 0), or a group answering "interrupted" (its ranks were
//    signalled), ends dispatching and sends kInterrupt to every running group; their results are recorded;
//  - a running group that stays silent (no heartbeat, progress or result) for longer than lost_after is lost
//    (a rank stopped, hung in a step, an allreduce or a filesystem): its trial goes back to the queue for
//    another group, it gets no more work and no kStop, and whatever it sends later (a late result) is
//    refused. When every group is lost, the run ends with the rest pending.
// The queue's rules are ready_queue.h. The callbacks write the store (rank 0 is its only writer). Layout and
// roles: mpi_session.h. MPI-free: unit-tested with a scripted mailbox.
#pragma once

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "comm/mailbox.h"
#include "orchestrator/ready_queue.h"

namespace signsweep::orchestrator {

struct SchedulerCallbacks {
  // Before the task is sent (it may fill in the task: its attempt, the paths it writes); false: do not send it
  // (its start could not be recorded: the store cannot be written), the trial is dropped and stays pending.
  std::function<bool(WorkItem&, int group)> on_dispatch;
  std::function<void(const WorkItem&, int group, const comm::Result&)> on_result;  // when the group answers
  std::function<void(const comm::Progress&)> on_progress;
  std::function<void(int64_t ready)> on_queue;  // after every dispatch round
  std::function<void(int group)> on_heard;       // every message from a group that is not lost
  // A running group declared lost, `silent_s` after it was last heard from; its item is queued again.
  std::function<void(const WorkItem&, int group, double silent_s)> on_lost;
};

struct SchedulerOptions {
  double lost_after_s = 0.0;  // a running group silent this long is lost (0: never)
};

struct SchedulerStats {
  int64_t dispatched = 0;
  int64_t finished = 0;
  int64_t dropped = 0;  // parent failed, stop requested, or its start not recorded
  int64_t lost_groups = 0;
  int64_t refused = 0;  // results that came from a lost group
  double seconds = 0.0;
};

// `leaders[g]` is the rank of group g's leader. `finished_parents`: ids already done in the store.
// `stop_requested` (may be empty) is polled before every dispatch and every message: true stops the run.
// Sends kStop to every leader before returning.
SchedulerStats schedule(comm::Mailbox& mailbox, const std::vector<int>& leaders, std::vector<WorkItem> items,
                        const std::set<std::string>& finished_parents, const SchedulerCallbacks& callbacks,
                        const std::function<bool()>& stop_requested = {}, const SchedulerOptions& options = {});

}  // namespace signsweep::orchestrator
