// Live metrics of a sweep on one Prometheus pull endpoint in rank 0 (prometheus-cpp), aggregating what the
// worker groups report (scheduler events and progress messages). Names follow conventions.md: prefix
// signsweep_, base units, _total on counters, ratios in 0..1, the `sweep` label on everything, bounded
// labels (state, kind/stage, group, device; a `trial` label only on the gauges of running trials, removed
// when the trial ends). Without prometheus-cpp in the build (GPU build), asking for it is a ConfigError.
// Thread-safety: prometheus-cpp metrics are thread-safe; the exporter serves from civetweb's threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/messages.h"

namespace signsweep::orchestrator {

struct MetricsOptions {
  std::string bind = "127.0.0.1";
  int port = -1;  // -1: no endpoint; 0: any free port
};

class SweepMetrics {
 public:
  // Starts the endpoint; throws ConfigError (exit 2) for an address in use or that cannot be bound.
  // One worker group per entry of `group_devices` (its devices, e.g. "cuda:0", the info metric's label).
  SweepMetrics(const std::string& sweep, const MetricsOptions& options, const std::vector<std::string>& group_devices);
  ~SweepMetrics();
  SweepMetrics(const SweepMetrics&) = delete;
  SweepMetrics& operator=(const SweepMetrics&) = delete;

  int port() const;  // the bound port (after port 0: the one picked)

  // Creates the per-kind counters at 0 (so rate() and increase() see them from the start).
  void declare_kinds(const std::vector<std::string>& kinds);

  void set_states(const std::map<std::string, int64_t>& counts);  // state -> trials
  void set_queue(int64_t ready);
  void set_expected_remaining(double seconds);
  void on_dispatch(int group, const std::string& trial, const std::string& kind, int64_t attempt);
  void on_progress(const comm::Progress& p);
  void on_result(int group, const std::string& trial, const std::string& kind, bool ok, double final_ber);
  void on_heard(int group);  // any message from the group: its last-heard time
  void on_lost(int group);   // declared lost (scheduler.h): counted, no longer busy

  // The exposition text (what a scrape returns): for tests and `status` views.
  std::string scrape_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace signsweep::orchestrator
