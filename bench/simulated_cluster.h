// For the scale benchmarks (header-only): SimulatedCluster, worker groups without workers: a comm::Mailbox
// whose G groups announce themselves ready and answer each task ok when its duration has passed in wall-clock
// time (no thread per group: a result becomes pollable when its time has come). TimedMailbox, around any
// mailbox (simulated or MPI): when the first task was sent, and the dispatch latency of every task sent to a
// group that had just answered (its result polled -> its next task sent).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "comm/mailbox.h"
#include "comm/messages.h"

namespace signsweep::bench {

class SimulatedCluster : public comm::Mailbox {
 public:
  using Clock = std::chrono::steady_clock;
  // `duration` gives each task's seconds.
  SimulatedCluster(int groups, std::function<double(const comm::Task&)> duration) : duration_(std::move(duration)) {
    for (int g = groups; g >= 1; --g) ready_.push_back(g);
  }
  std::optional<comm::Envelope> poll() override {
    if (!ready_.empty()) {
      const int g = ready_.back();
      ready_.pop_back();
      return comm::Envelope{g, comm::kReady, ""};
    }
    if (running_.empty() || running_.top().done > Clock::now()) return std::nullopt;
    const Running r = running_.top();
    running_.pop();
    comm::Result result;
    result.id = r.id;
    result.ok = true;
    return comm::Envelope{r.group, comm::kResult, comm::encode(result)};
  }
  void send(int to, comm::Tag tag, const std::string& payload) override {
    if (tag != comm::kTask) return;
    const comm::Task t = comm::decode_task(payload);
    running_.push({Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_(t))), to, t.id});
  }

 private:
  struct Running {
    Clock::time_point done;
    int group;
    std::string id;
    bool operator>(const Running& o) const { return done > o.done; }
  };
  std::function<double(const comm::Task&)> duration_;
  std::vector<int> ready_;
  std::priority_queue<Running, std::vector<Running>, std::greater<>> running_;
};

class TimedMailbox : public comm::Mailbox {
 public:
  using Clock = std::chrono::steady_clock;
  // `on_task` (may be empty) sees every task as it is sent.
  explicit TimedMailbox(comm::Mailbox& inner, std::function<void(const comm::Task&)> on_task = {})
      : inner_(inner), on_task_(std::move(on_task)) {}
  std::optional<comm::Envelope> poll() override {
    std::optional<comm::Envelope> e = inner_.poll();
    if (e && e->tag == comm::kResult) polled_[e->from] = Clock::now();
    return e;
  }
  void send(int to, comm::Tag tag, const std::string& payload) override {
    if (tag == comm::kTask) {
      const auto now = Clock::now();
      if (!first_task_) first_task_ = now;
      const auto p = polled_.find(to);
      if (p != polled_.end()) {
        latencies_.push_back(std::chrono::duration<double>(now - p->second).count());
        polled_.erase(p);
      }
      if (on_task_) on_task_(comm::decode_task(payload));
    }
    inner_.send(to, tag, payload);
  }
  void idle(comm::IdleBackoff& backoff) override { inner_.idle(backoff); }
  const std::vector<double>& latencies() const { return latencies_; }
  std::optional<Clock::time_point> first_task() const { return first_task_; }

 private:
  comm::Mailbox& inner_;
  std::function<void(const comm::Task&)> on_task_;
  std::map<int, Clock::time_point> polled_;
  std::vector<double> latencies_;
  std::optional<Clock::time_point> first_task_;
};

}  // namespace signsweep::bench
