// Scheduling efficiency under mpirun: N trials that sleep (the workers run this file's stand-in executor) with random durations
// (uniform in [0, 2 x mean]) over the worker ranks. Prints the makespan against the ideal (sum of
// durations / workers) and the dispatch overhead per trial ((makespan x workers - sum) / trials).
//   mpirun --allow-run-as-root --oversubscribe -np 5 build/bench/bench_scheduler [trials=400] [mean_ms=50]
#include <mpi.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "comm/collective.h"
#include "comm/mpi_transport.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/mpi_session.h"

using namespace signsweep::orchestrator;

namespace {

// The workers' stand-in for execute_task: the group leader sleeps the task's config_yaml seconds.
signsweep::comm::Result sleep_for_task(const signsweep::comm::Task& task, const TaskContext& context) {
  if (context.group == nullptr || context.group->rank() == 0) std::this_thread::sleep_for(std::chrono::duration<double>(std::stod(task.config_yaml)));
  signsweep::comm::Result r;
  r.id = task.id;
  r.ok = true;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int trials = argc > 1 ? std::stoi(argv[1]) : 400;
  const double mean_ms = argc > 2 ? std::stod(argv[2]) : 50.0;
  const MpiLayout layout = make_layout(1);
  if (layout.rank != 0) {
    serve_worker_group(layout, nullptr, sleep_for_task);
    MPI_Finalize();
    return 0;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> duration(0.0, 2.0 * mean_ms / 1000.0);
  std::vector<WorkItem> items;
  double sum = 0.0;
  for (int i = 0; i < trials; ++i) {
    const double d = duration(rng);
    sum += d;
    WorkItem w;
    w.task.id = std::to_string(i);
    w.task.kind = signsweep::core::TrialKind{signsweep::core::Stage::kNullCheck};  // any kind: sleep_for_task ignores it
    w.task.config_yaml = std::to_string(d);
    w.expected_cost = d;
    items.push_back(w);
  }
  signsweep::comm::MpiMailbox mailbox(MPI_COMM_WORLD);
  const SchedulerStats s = schedule(mailbox, layout.leaders, items, {}, {});
  const double workers = static_cast<double>(layout.leaders.size());
  const double ideal = sum / workers;
  std::printf("trials %d, mean %.1f ms, %d workers\nmakespan %.3f s, ideal %.3f s, ratio %.4f\n"
              "dispatch overhead per trial %.3f ms\n",
              trials, mean_ms, static_cast<int>(workers), s.seconds, ideal, s.seconds / ideal,
              1e3 * (s.seconds * workers - sum) / trials);
  MPI_Finalize();
  return 0;
}
