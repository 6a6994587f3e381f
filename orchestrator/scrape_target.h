// Prometheus file-based service discovery (file_sd_configs) for a run's one metrics endpoint: rank 0 writes a
// JSON target file naming its exporter (reachable host and the port actually bound, so `--metrics-port 0`
// works), with labels for the store and the Slurm job, into a folder that several runs share; one Prometheus
// reading `<folder>/*.json` then finds every run on the cluster. The file is written atomically once the
// exporter is up and removed when the run ends (a run killed outright leaves it: Prometheus then shows the
// target down, `up == 0`). The sweep's name is not a target label: every series carries it already as
// `sweep`, and a target label of that name would rename the scraped one to `exported_sweep`.
// Torch-free. Thread-safety: one object per run.
#pragma once

#include <map>
#include <string>

namespace signsweep::orchestrator {

// Where target files go: $SIGNSWEEP_METRICS_TARGETS when set, else `prometheus-targets/` beside the store
// (runs/prometheus-targets for --out runs/<sweep>), the folder every run under runs/ shares.
std::string default_targets_dir(const std::string& store);

// The host Prometheus should scrape for an exporter bound to `bind`: this host's name for a wildcard bind
// (0.0.0.0, ::), else the address itself (127.0.0.1 is reachable from this host only).
std::string reachable_host(const std::string& bind);

// The file_sd JSON of one target: [{"targets": ["host:port"], "labels": {...}}].
std::string target_file_json(const std::string& host, int port, const std::map<std::string, std::string>& labels);

class ScrapeTarget {
 public:
  // Writes <dir>/signsweep-<host>-<port>.json (WriteError naming the path when it cannot).
  ScrapeTarget(const std::string& dir, const std::string& host, int port, const std::map<std::string, std::string>& labels);
  ~ScrapeTarget();  // removes the file
  ScrapeTarget(const ScrapeTarget&) = delete;
  ScrapeTarget& operator=(const ScrapeTarget&) = delete;
  const std::string& path() const { return path_; }
  void remove();  // early (before a path that never returns, e.g. MPI_Abort)

 private:
  std::string path_;
};

}  // namespace signsweep::orchestrator
