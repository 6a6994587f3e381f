// The worker group's loop without MPI: against a scripted line to rank 0 (what it sends, when it stops a
// trial, how often it reports progress), and over the in-process channel with the real scheduler on this
// thread, as `signsweep run` without mpirun runs them.
#include "orchestrator/worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>

#include "comm/in_process.h"
#include "comm/mailbox.h"
#include "common/errors.h"
#include "orchestrator/scheduler.h"

namespace signsweep::orchestrator {
namespace {

// Rank 0 as a script: `waiting` is what the leader's wait() receives in order; `during_task` holds the
// messages that arrive while a task runs (the leader's poll finds them). Records what the leader sends.
class ScriptedLink : public comm::LeaderLink {
 public:
  std::deque<comm::Envelope> waiting;
  std::deque<comm::Envelope> during_task;
  std::vector<std::pair<comm::Tag, std::string>> sent;

  comm::Envelope wait() override {
    if (waiting.empty()) throw Error("script: the worker waited past the end of the script");
    comm::Envelope e = waiting.front();
    waiting.pop_front();
    return e;
  }
  std::optional<std::string> poll(comm::Tag tag) override {
    for (auto it = during_task.begin(); it != during_task.end(); ++it)
      if (it->tag == tag) {
        std::string payload = it->payload;
        during_task.erase(it);
        return payload;
      }
    return std::nullopt;
  }
  void send(comm::Tag tag, const std::string& payload) override { sent.emplace_back(tag, payload); }
  std::vector<comm::Tag> sent_tags() const {
    std::vector<comm::Tag> tags;
    for (const auto& [tag, payload] : sent) tags.push_back(tag);
    return tags;
  }
};

comm::Task task(const std::string& id, bool report_progress = false) {
  comm::Task t;
  t.id = id;
  t.kind = core::TrialKind{core::Stage::kEmbed};
  t.report_progress = report_progress;
  return t;
}

comm::Envelope to_worker(comm::Tag tag, const std::string& payload = "") { return {0, tag, payload}; }

comm::Result ok_result(const comm::Task& t) {
  comm::Result r;
  r.id = t.id;
  r.ok = true;
  return r;
}

TEST(WorkerLoopTest, says_ready_runs_each_task_once_answers_each_and_leaves_on_stop) {
  ScriptedLink link;
  link.waiting = {to_worker(comm::kInterrupt),  // idle: its trial ended first; dropped
                  to_worker(comm::kTask, comm::encode(task("t1"))), to_worker(comm::kTask, comm::encode(task("t2"))),
                  to_worker(comm::kStop)};
  std::vector<std::string> ran;
  std::vector<bool> stop_seen;
  serve_tasks({&link, nullptr, 3, "cpu"}, nullptr,
              [&](const comm::Task& t, const TaskContext& context) {
                EXPECT_EQ(context.group, nullptr);
                EXPECT_EQ(context.device, "cpu");
                ran.push_back(t.id);
                stop_seen.push_back(context.stop_requested());
                return ok_result(t);
              });
  EXPECT_EQ(ran, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(stop_seen, (std::vector<bool>{false, false}));  // the idle interrupt stopped nothing
  EXPECT_EQ(link.sent_tags(), (std::vector<comm::Tag>{comm::kReady, comm::kResult, comm::kResult}));
  EXPECT_EQ(comm::decode_result(link.sent[1].second).id, "t1");
  EXPECT_TRUE(comm::decode_result(link.sent[2].second).ok);
  EXPECT_TRUE(link.waiting.empty());
}

TEST(WorkerLoopTest, an_interrupt_during_a_trial_or_this_ranks_signal_stops_it_and_the_answer_says_interrupted) {
  ScriptedLink link;
  link.waiting = {to_worker(comm::kTask, comm::encode(task("t1"))), to_worker(comm::kStop)};
  link.during_task = {to_worker(comm::kInterrupt)};
  const TaskExecutor stops_when_asked = [](const comm::Task& t, const TaskContext& context) {
    comm::Result r = ok_result(t);
    if (context.stop_requested()) {
      r.ok = false;
      r.interrupted = true;
    }
    return r;
  };
  serve_tasks({&link, nullptr, 0, "cpu"}, nullptr, stops_when_asked);
  ASSERT_EQ(link.sent.size(), 2U);
  EXPECT_TRUE(comm::decode_result(link.sent[1].second).interrupted);

  ScriptedLink signalled_link;  // no interrupt from rank 0; this rank's own SIGTERM
  signalled_link.waiting = {to_worker(comm::kTask, comm::encode(task("t2"))), to_worker(comm::kStop)};
  const std::atomic<bool> signalled{true};
  serve_tasks({&signalled_link, nullptr, 0, "cpu"}, &signalled, stops_when_asked);
  EXPECT_TRUE(comm::decode_result(signalled_link.sent.at(1).second).interrupted);
}

TEST(WorkerLoopTest, progress_goes_out_at_most_twice_a_second_but_every_epoch_end_and_every_step_is_counted) {
  ScriptedLink link;
  link.waiting = {to_worker(comm::kTask, comm::encode(task("t1", /*report_progress=*/true))),
                  to_worker(comm::kTask, comm::encode(task("quiet"))), to_worker(comm::kStop)};
  serve_tasks({&link, nullptr, 7, "cpu"}, nullptr,
              [](const comm::Task& t, const TaskContext& context) {
                for (const int64_t step : {1, 2, 3, 10}) {  // of 10: the first is sent, 2 and 3 ride with the epoch end
                  workers::StepProgress p;
                  p.epoch = 1;
                  p.step = step;
                  p.steps = 10;
                  p.step_seconds = {0.01};
                  context.progress(p);
                }
                return ok_result(t);
              });
  std::vector<comm::Progress> reports;
  for (const auto& [tag, payload] : link.sent)
    if (tag == comm::kProgress) reports.push_back(comm::decode_progress(payload));
  ASSERT_EQ(reports.size(), 2U);  // none at all for the task that asked for none
  EXPECT_EQ(reports[0].step, 1);
  EXPECT_EQ(reports[0].group, 7);
  EXPECT_EQ(reports[0].step_times.total(), 1);
  EXPECT_EQ(reports[1].step, 10);
  EXPECT_EQ(reports[1].step_times.total(), 3);  // steps 2, 3 and 10
}

TEST(WorkerLoopTest, a_running_leader_sends_a_heartbeat_when_nothing_else_went_out_for_heartbeat_s_and_none_when_asked_for_none) {
  ScriptedLink link;
  comm::Task beating = task("beating");
  beating.heartbeat_s = 0.05;
  link.waiting = {to_worker(comm::kTask, comm::encode(beating)), to_worker(comm::kTask, comm::encode(task("silent"))),
                  to_worker(comm::kStop)};
  // Six steps of ~30 ms (training steps poll stop_requested; fine-tuning steps call alive): 180 ms in all.
  serve_tasks({&link, nullptr, 0, "cpu"}, nullptr, [](const comm::Task& t, const TaskContext& context) {
    for (int step = 0; step < 6; ++step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      if (step % 2 == 0) context.stop_requested();
      else context.alive();
    }
    return ok_result(t);
  });
  std::vector<size_t> heartbeats;  // their positions among the messages sent
  for (size_t i = 0; i < link.sent.size(); ++i)
    if (link.sent[i].first == comm::kHeartbeat) heartbeats.push_back(i);
  // Every 50 ms of 180: at least 2 (sleeps only lengthen), at most one per step.
  EXPECT_GE(heartbeats.size(), 2U);
  EXPECT_LE(heartbeats.size(), 6U);
  ASSERT_FALSE(heartbeats.empty());
  EXPECT_EQ(link.sent.at(heartbeats.back() + 1).first, comm::kResult);  // all during the first task: the second sent none
  EXPECT_EQ(comm::decode_result(link.sent.at(heartbeats.back() + 1).second).id, "beating");
}

TEST(WorkerLoopTest, a_leader_without_a_line_to_rank_0_is_an_error_not_a_hang) {
  EXPECT_THROW(serve_tasks({nullptr, nullptr, 0, "cpu"}, nullptr), Error);
}

// The in-process run's two halves: the real scheduler on this thread, serve_tasks on another.
TEST(InProcessRunTest, the_scheduler_and_a_worker_thread_run_every_trial_once_in_the_schedulers_order) {
  comm::InProcessChannel channel;
  std::vector<std::string> ran;
  std::thread worker([&] {
    serve_tasks({&channel.worker(), nullptr, 0, "cpu"}, nullptr,
                [&](const comm::Task& t, const TaskContext&) {
                  ran.push_back(t.id);
                  return ok_result(t);
                });
  });
  std::vector<WorkItem> items;
  for (const auto& [id, cost] : std::vector<std::pair<std::string, double>>{{"short", 1}, {"long", 9}, {"middle", 5}}) {
    WorkItem w;
    w.task = task(id);
    w.expected_cost = cost;
    items.push_back(w);
  }
  WorkItem child;  // needs "short": ready only once it finished
  child.task = task("child");
  child.expected_cost = 100;
  child.needs = {"short"};
  child.parent = "short";
  items.push_back(child);
  std::vector<std::string> answered;
  SchedulerCallbacks callbacks;
  callbacks.on_result = [&](const WorkItem& w, int group, const comm::Result& r) {
    EXPECT_EQ(group, 0);
    EXPECT_TRUE(r.ok);
    answered.push_back(w.task.id);
  };
  const SchedulerStats stats = schedule(channel.scheduler(), {comm::InProcessChannel::kWorker}, items, {}, callbacks);
  worker.join();  // the scheduler's kStop ended the worker's loop
  EXPECT_EQ(stats.finished, 4);
  EXPECT_EQ(ran, (std::vector<std::string>{"long", "middle", "short", "child"}));
  EXPECT_EQ(answered, ran);
}

TEST(InProcessRunTest, a_worker_thread_that_fails_makes_the_schedulers_next_poll_throw_instead_of_waiting) {
  comm::InProcessChannel channel;
  std::thread worker([&] {
    try {
      serve_tasks({&channel.worker(), nullptr, 0, "cpu"}, nullptr);
    } catch (...) {
      channel.fail(std::current_exception());
    }
  });
  channel.scheduler().send(comm::InProcessChannel::kWorker, comm::kTask, "{not a task");
  worker.join();
  // The rethrow comes before the queued kReady: a scheduler never waits on a worker that is gone.
  EXPECT_THROW(channel.scheduler().poll(), comm::ProtocolError);
}

}  // namespace
}  // namespace signsweep::orchestrator
