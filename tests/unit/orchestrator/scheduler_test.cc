// The scheduler's rules without mpirun: the ready queue (readiness over several needs, longest first,
// locality, dropping what a failure leaves unreachable) and the dispatch loop against a scripted mailbox
// whose worker groups answer at once.
#include "orchestrator/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>

namespace signsweep::orchestrator {
namespace {

WorkItem item(const std::string& id, double cost, std::vector<std::string> needs = {}, std::string parent = "") {
  WorkItem w;
  w.task.id = id;
  w.task.kind = core::TrialKind{core::Stage::kEmbed};
  w.expected_cost = cost;
  w.needs = std::move(needs);
  w.parent = parent.empty() && !w.needs.empty() ? w.needs.front() : parent;
  return w;
}

std::vector<std::string> drain(ReadyQueue& q, int group = 0, const std::map<std::string, int>& ran_by = {}) {
  std::vector<std::string> ids;
  while (q.has_ready()) ids.push_back(q.take_for(group, ran_by).task.id);
  return ids;
}

TEST(ReadyQueueTest, longest_first_and_among_equals_the_one_whose_parent_this_group_ran) {
  ReadyQueue q({item("short", 1), item("a1", 5, {}, "A"), item("long", 9), item("b1", 5, {}, "B")}, {});
  EXPECT_EQ(q.take_for(1, {{"B", 1}}).task.id, "long");
  EXPECT_EQ(q.take_for(1, {{"B", 1}}).task.id, "b1");  // a1 came first, but group 1 ran B
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a1", "short"}));
}

TEST(ReadyQueueTest, a_trial_with_several_needs_waits_for_the_last_one) {
  ReadyQueue q({item("A", 9), item("B", 9), item("check", 1, {"A", "B"})}, {});
  EXPECT_EQ(drain(q), (std::vector<std::string>{"A", "B"}));
  q.finished("A", true);
  EXPECT_FALSE(q.has_ready());
  EXPECT_TRUE(q.has_waiting());
  q.finished("B", true);
  EXPECT_EQ(drain(q), (std::vector<std::string>{"check"}));
  EXPECT_EQ(q.remaining(), 0);
}

TEST(ReadyQueueTest, needs_finished_before_this_job_count_and_a_failure_drops_everything_downstream) {
  ReadyQueue q({item("B", 9), item("attack", 1, {"A"}), item("check", 1, {"A", "B"}), item("after-check", 1, {"check"}),
                item("orphan", 1, {"gone"})},
               {"A"});  // A is done in the store; "gone" failed before this job and is not in it
  EXPECT_EQ(q.dropped(), 1);  // the orphan
  EXPECT_EQ(drain(q), (std::vector<std::string>{"B", "attack"}));
  q.finished("B", false);
  EXPECT_FALSE(q.has_ready());
  EXPECT_FALSE(q.has_waiting());
  EXPECT_EQ(q.dropped(), 3);  // + check and what needs it
}

// Worker groups that answer every task at once: ok unless the id is in `failing`.
class ScriptedMailbox : public comm::Mailbox {
 public:
  ScriptedMailbox(const std::vector<int>& leaders, std::set<std::string> failing) : failing_(std::move(failing)) {
    for (const int l : leaders) inbox_.push_back({l, comm::kReady, ""});
  }
  std::optional<comm::Envelope> poll() override {
    if (inbox_.empty()) return std::nullopt;
    comm::Envelope e = inbox_.front();
    inbox_.pop_front();
    return e;
  }
  void send(int to, comm::Tag tag, const std::string& payload) override {
    if (tag == comm::kStop) {
      stopped_.insert(to);
      return;
    }
    if (tag == comm::kInterrupt) {
      interrupted_.insert(to);
      return;
    }
    const comm::Task t = comm::decode_task(payload);
    sent_.push_back(t.id);
    comm::Result r;
    r.id = t.id;
    r.ok = !failing_.count(t.id);
    inbox_.push_back({to, comm::kResult, comm::encode(r)});
  }
  const std::vector<std::string>& sent() const { return sent_; }
  const std::set<int>& stopped() const { return stopped_; }
  const std::set<int>& interrupted() const { return interrupted_; }

 private:
  std::set<std::string> failing_;
  std::deque<comm::Envelope> inbox_;
  std::vector<std::string> sent_;
  std::set<int> stopped_;
  std::set<int> interrupted_;
};

size_t position(const std::vector<std::string>& v, const std::string& id) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), id) - v.begin());
}

std::vector<WorkItem> sweep_items() {
  return {item("A", 10), item("B", 10), item("A-prune", 1, {"A"}), item("A-quantize", 1, {"A"}), item("B-prune", 1, {"B"}),
          item("null-1", 10), item("check-A", 1, {"A", "null-1"})};
}

TEST(SchedulerTest, every_trial_runs_once_after_all_it_needs_and_every_group_is_stopped) {
  ScriptedMailbox mailbox({1, 3}, {});
  std::vector<std::string> results;
  SchedulerCallbacks callbacks;
  callbacks.on_result = [&](const WorkItem& w, int, const comm::Result& r) { results.push_back(w.task.id + (r.ok ? "" : "!")); };
  const SchedulerStats stats = schedule(mailbox, {1, 3}, sweep_items(), {}, callbacks);
  const auto& sent = mailbox.sent();
  EXPECT_EQ(sent.size(), 7U);
  EXPECT_EQ(std::set<std::string>(sent.begin(), sent.end()).size(), 7U);  // each once
  for (const auto& [trial, need] : {std::pair<std::string, std::string>{"A-prune", "A"}, {"A-quantize", "A"}, {"B-prune", "B"},
                                    {"check-A", "A"}, {"check-A", "null-1"}})
    EXPECT_GT(position(sent, trial), position(sent, need)) << trial << " before " << need;
  EXPECT_LT(position(sent, "null-1"), position(sent, "A-prune"));  // longest first among the ready
  EXPECT_EQ(stats.dispatched, 7);
  EXPECT_EQ(stats.finished, 7);
  EXPECT_EQ(stats.dropped, 0);
  EXPECT_EQ(mailbox.stopped(), (std::set<int>{1, 3}));
}

TEST(SchedulerTest, a_failed_trial_leaves_what_needs_it_undispatched) {
  ScriptedMailbox mailbox({1}, {"A"});
  const SchedulerStats stats = schedule(mailbox, {1}, sweep_items(), {}, {});
  const auto& sent = mailbox.sent();
  for (const char* never : {"A-prune", "A-quantize", "check-A"}) EXPECT_EQ(position(sent, never), sent.size()) << never;
  EXPECT_EQ(stats.dispatched, 4);  // A, B, null-1, B-prune
  EXPECT_EQ(stats.dropped, 3);
}

TEST(SchedulerTest, a_stop_request_ends_dispatching_and_counts_what_is_left) {
  ScriptedMailbox mailbox({1}, {});
  std::atomic<bool> stop{false};
  SchedulerCallbacks callbacks;
  callbacks.on_dispatch = [&](WorkItem&, int) { return stop = true; };  // stop as soon as the first trial is out
  const SchedulerStats stats = schedule(mailbox, {1}, sweep_items(), {}, callbacks, [&] { return stop.load(); });
  EXPECT_EQ(stats.dispatched, 1);
  EXPECT_EQ(stats.finished, 1);  // the running trial finished and was recorded
  EXPECT_EQ(stats.dropped, 6);
  EXPECT_EQ(mailbox.interrupted(), (std::set<int>{1}));  // the running group was asked to stop after its step
  EXPECT_EQ(mailbox.stopped(), (std::set<int>{1}));
}

TEST(SchedulerTest, a_group_that_answers_interrupted_stops_the_run) {
  // A group whose ranks were signalled (mpirun forwarded the signal) answers "interrupted": no trial starts
  // after it, and the other running group is interrupted too.
  class Signalled : public ScriptedMailbox {
   public:
    Signalled() : ScriptedMailbox({1, 3}, {}) {}
    void send(int to, comm::Tag tag, const std::string& payload) override {
      if (tag != comm::kTask || to != 1) return ScriptedMailbox::send(to, tag, payload);
      held_.push_back(payload);  // group 1 answers later, interrupted
    }
    std::optional<comm::Envelope> poll() override {
      if (auto e = ScriptedMailbox::poll()) return e;
      if (held_.empty()) return std::nullopt;
      comm::Result r;
      r.id = comm::decode_task(held_.front()).id;
      r.interrupted = true;
      held_.erase(held_.begin());
      return comm::Envelope{1, comm::kResult, comm::encode(r)};
    }
   private:
    std::vector<std::string> held_;
  } mailbox;
  const SchedulerStats stats = schedule(mailbox, {1, 3}, sweep_items(), {}, {});
  EXPECT_LT(stats.dispatched, 7);
  EXPECT_GT(stats.dropped, 0);
  EXPECT_EQ(mailbox.stopped(), (std::set<int>{1, 3}));
}

// Group 1 takes its first task and then says nothing (a SIGSTOPped rank), until `wake` makes it answer late.
class OneGroupHangs : public ScriptedMailbox {
 public:
  OneGroupHangs() : ScriptedMailbox({1, 3}, {}) {}
  void send(int to, comm::Tag tag, const std::string& payload) override {
    if (tag == comm::kTask && to == 1) {
      held_.push_back(comm::decode_task(payload).id);
      return;
    }
    ScriptedMailbox::send(to, tag, payload);
  }
  std::optional<comm::Envelope> poll() override {
    if (!wake || held_.empty()) return ScriptedMailbox::poll();
    comm::Result r;  // its late answer comes first
    r.id = held_.front();
    r.ok = true;
    held_.clear();
    return comm::Envelope{1, comm::kResult, comm::encode(r)};
  }
  const std::vector<std::string>& held() const { return held_; }
  bool wake = false;

 private:
  std::vector<std::string> held_;
};

TEST(SchedulerTest, a_silent_group_is_lost_its_trial_runs_on_another_it_gets_nothing_more_and_its_late_result_is_refused) {
  OneGroupHangs mailbox;
  std::vector<std::string> lost, results;
  SchedulerCallbacks callbacks;
  callbacks.on_lost = [&](const WorkItem& w, int group, double silent_s) {
    EXPECT_EQ(group, 0);
    EXPECT_GT(silent_s, 0.2);
    lost.push_back(w.task.id);
    mailbox.wake = true;  // it wakes up once declared lost: its answer must not count
  };
  callbacks.on_result = [&](const WorkItem& w, int group, const comm::Result&) {
    EXPECT_EQ(group, 1);
    results.push_back(w.task.id);
  };
  const SchedulerStats stats = schedule(mailbox, {1, 3}, sweep_items(), {}, callbacks, {}, SchedulerOptions{0.2});
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(stats.lost_groups, 1);
  EXPECT_EQ(stats.finished, 7);  // every trial, the lost one included, on group 3
  EXPECT_EQ(std::set<std::string>(results.begin(), results.end()).size(), 7U);
  EXPECT_EQ(std::count(mailbox.sent().begin(), mailbox.sent().end(), lost[0]), 1);  // to group 3; group 1's was held
  EXPECT_EQ(stats.dropped, 0);
  EXPECT_EQ(mailbox.stopped(), (std::set<int>{3}));  // no kStop to the lost group
  EXPECT_EQ(stats.refused, 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), lost[0]), 1);  // recorded once: group 3's
}

TEST(SchedulerTest, when_every_group_is_lost_the_run_ends_with_the_rest_pending) {
  class NobodyAnswers : public ScriptedMailbox {
   public:
    NobodyAnswers() : ScriptedMailbox({1}, {}) {}
    void send(int, comm::Tag, const std::string&) override {}
  } mailbox;
  const SchedulerStats stats = schedule(mailbox, {1}, sweep_items(), {}, {}, {}, SchedulerOptions{0.1});
  EXPECT_EQ(stats.lost_groups, 1);
  EXPECT_EQ(stats.finished, 0);
  EXPECT_EQ(stats.dropped, 7);  // the lost trial back in the queue, and the six never sent
}

TEST(SchedulerTest, heartbeats_keep_a_slow_group_alive) {
  // Group 1 answers each task after 0.5 s, sending a heartbeat every 50 ms: never silent for 0.2 s.
  class SlowButAlive : public ScriptedMailbox {
   public:
    SlowButAlive() : ScriptedMailbox({1}, {}) {}
    void send(int to, comm::Tag tag, const std::string& payload) override {
      if (tag != comm::kTask) return ScriptedMailbox::send(to, tag, payload);
      task_ = payload;
      started_ = last_beat_ = std::chrono::steady_clock::now();
    }
    std::optional<comm::Envelope> poll() override {
      if (auto e = ScriptedMailbox::poll()) return e;
      if (task_.empty()) return std::nullopt;
      const auto now = std::chrono::steady_clock::now();
      if (now - started_ >= std::chrono::milliseconds(500)) {
        ScriptedMailbox::send(1, comm::kTask, task_);  // answered now
        task_.clear();
        return ScriptedMailbox::poll();
      }
      if (now - last_beat_ < std::chrono::milliseconds(50)) return std::nullopt;
      last_beat_ = now;
      return comm::Envelope{1, comm::kHeartbeat, ""};
    }

   private:
    std::string task_;
    std::chrono::steady_clock::time_point started_, last_beat_;
  } mailbox;
  const std::vector<WorkItem> two{item("A", 1), item("B", 1)};
  const SchedulerStats stats = schedule(mailbox, {1}, two, {}, {}, {}, SchedulerOptions{0.2});
  EXPECT_EQ(stats.lost_groups, 0);
  EXPECT_EQ(stats.finished, 2);
}

}  // namespace
}  // namespace signsweep::orchestrator
