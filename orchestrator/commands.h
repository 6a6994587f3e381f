// The subcommands of `signsweep` (cli.h parses the command line and calls them): each returns the process's
// exit code, and throws for errors (cli.cc turns them into exit codes). MPI appears only inside cmd_run
// (through mpi_session.h).
#pragma once

#include <functional>
#include <string>

#include "orchestrator/metrics.h"
#include "orchestrator/run_sweep.h"
#include "workers/verify_job.h"

namespace signsweep::storage {
class ResultsStore;
}

namespace signsweep::orchestrator {

struct MetricsCli {
  MetricsOptions options;
  double linger_seconds = 0.0;
  std::string targets_dir;  // Prometheus target files (scrape_target.h); empty: default_targets_dir(store)
};

// `run` (run_command.cc): a sweep, in this process or under mpirun; --dry-run / --print-config list the trials.
int cmd_run(const std::string& sweep_path, RunOptions options, bool dry_run, bool print_config, const std::string& log_level,
            const MetricsCli& metrics_cli);

// Readers of a store (store_commands.cc).
int cmd_status(const std::string& store_dir, double watch_seconds);
// One TensorBoard run per trial (per-epoch series and an HParams session) in `dir`, by report/tensorboard.py.
int cmd_export_tensorboard(const std::string& store_dir, const std::string& dir);
// The text a reader for people makes of a store, made in a child process (storage/foreign.h): a crafted or
// corrupt store ends the child, not this process.
std::string text_of_store(const std::string& store_dir, const std::function<std::string(const storage::ResultsStore&)>& text);

// One model at a time (model_commands.cc).
int cmd_train(const std::string& config_path, std::string checkpoint_path);
int cmd_verify(const std::string& checkpoint_path, workers::KerasVerifyOptions keras);
int cmd_import(const workers::KerasVerifyOptions& keras, const std::string& out);
int cmd_data(const std::string& config_path);
int cmd_list();

}  // namespace signsweep::orchestrator
