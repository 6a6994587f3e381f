// Rank 0 and one worker group in one process: the scheduler's Mailbox and the leader's LeaderLink over two
// queues, so that `signsweep run` without mpirun runs the scheduler's loop and the worker's loop (one thread
// each) exactly as under mpirun. The worker's end is address kWorker. MPI-free.
// Thread-safety: scheduler() is used by one thread and worker() by another; everything else is internal.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

#include "comm/mailbox.h"

namespace signsweep::comm {

class InProcessChannel {
 public:
  static constexpr int kWorker = 1;  // the worker leader's address, as an MPI rank would be

  Mailbox& scheduler() { return scheduler_end_; }
  LeaderLink& worker() { return worker_end_; }
  // The worker's thread ended with an exception: the scheduler's next poll rethrows it (the scheduler would
  // otherwise wait for a result that will not come).
  void fail(std::exception_ptr error);

 private:
  using Queue = std::deque<Envelope>;
  class SchedulerEnd : public Mailbox {
   public:
    explicit SchedulerEnd(InProcessChannel& c) : c_(c) {}
    std::optional<Envelope> poll() override;
    void send(int to, Tag tag, const std::string& payload) override;
    // Blocks until the worker sends (or fails), at most kLongestIdle: no periodic wake-ups beside a
    // training thread that has every core.
    void idle(IdleBackoff& backoff) override;

   private:
    InProcessChannel& c_;
  };
  class WorkerEnd : public LeaderLink {
   public:
    explicit WorkerEnd(InProcessChannel& c) : c_(c) {}
    Envelope wait() override;
    std::optional<std::string> poll(Tag tag) override;
    void send(Tag tag, const std::string& payload) override;

   private:
    InProcessChannel& c_;
  };

  std::mutex mutex_;
  std::condition_variable to_worker_ready_;
  std::condition_variable to_scheduler_ready_;
  Queue to_scheduler_;
  Queue to_worker_;
  std::exception_ptr worker_error_;
  SchedulerEnd scheduler_end_{*this};
  WorkerEnd worker_end_{*this};
};

}  // namespace signsweep::comm
