// The scheduler at cluster scale without a cluster: the real schedule() (ready queue, dispatch, the protocol's
// encoding of every task and result) over a simulated mailbox of G worker groups, each of which "runs" a task
// for its duration in wall-clock time (no thread per group: a group's result becomes pollable when its time
// has come). Trials: attack-shaped DAGs (one embed trial, then `attacks` attacks of it), durations uniform in
// [0, 2 x mean]. Reports makespan / ideal (the DAG's critical path counted), dispatch latency (a result polled ->
// that group's next task sent: median and p99), rank 0's CPU time and peak resident memory.
// By hand (docs/benchmarks.md): ./build/bench/bench_scale <trials> <groups> <mean ms> [attacks per model]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "bench/measure.h"
#include "bench/simulated_cluster.h"
#include "orchestrator/scheduler.h"

using namespace signsweep;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int64_t trials = argc > 1 ? std::stoll(argv[1]) : 100000;
  const int groups = argc > 2 ? std::stoi(argv[2]) : 1024;
  const double mean_ms = argc > 3 ? std::stod(argv[3]) : 50.0;
  const int attacks = argc > 4 ? std::stoi(argv[4]) : 11;  // a lab's 12 attacks' budgets, less one
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> duration(0.0, 2.0 * mean_ms / 1000.0);
  std::vector<orchestrator::WorkItem> items;
  double work = 0.0, longest_chain = 0.0, model = 0.0;
  std::string parent;
  for (int64_t i = 0; i < trials; ++i) {
    orchestrator::WorkItem w;
    const double d = duration(rng);
    const bool embed = i % (attacks + 1) == 0;
    w.task.id = std::to_string(i);
    w.task.kind = embed ? core::TrialKind{core::Stage::kEmbed} : core::TrialKind::attack_of(core::AttackKind::kPrune);
    w.task.config_yaml = std::to_string(d);
    w.expected_cost = embed ? 10.0 : 1.0;  // as run_sweep ranks them: models first
    if (embed) {
      parent = w.task.id;
      model = d;
    } else {
      w.parent = parent;
      w.needs = {parent};
      longest_chain = std::max(longest_chain, model + d);
    }
    work += d;
    items.push_back(std::move(w));
  }
  const double rss_before = bench::peak_rss_mib();
  const double cpu_before = bench::cpu_seconds();
  bench::SimulatedCluster simulated(groups, [](const comm::Task& t) { return std::stod(t.config_yaml); });
  bench::TimedMailbox cluster(simulated);
  std::vector<int> leaders;
  for (int g = 1; g <= groups; ++g) leaders.push_back(g);
  const orchestrator::SchedulerStats s = orchestrator::schedule(cluster, leaders, std::move(items), {}, {});
  const double cpu = bench::cpu_seconds() - cpu_before;
  const double ideal = std::max(work / groups, longest_chain);
  std::printf("trials %lld, groups %d, mean %.1f ms, %d attacks per model\n", static_cast<long long>(trials), groups, mean_ms,
              attacks);
  std::printf("makespan %.2f s, ideal %.2f s, ratio %.4f; finished %lld\n", s.seconds, ideal, s.seconds / ideal,
              static_cast<long long>(s.finished));
  std::printf("dispatch latency median %.1f us, p99 %.1f us\n", 1e6 * bench::quantile(cluster.latencies(), 0.5),
              1e6 * bench::quantile(cluster.latencies(), 0.99));
  std::printf("rank 0 CPU %.2f s (%.1f us per trial), peak RSS %.1f MiB (%.1f MiB before scheduling)\n", cpu,
              1e6 * cpu / static_cast<double>(trials), bench::peak_rss_mib(), rss_before);
  return 0;
}
