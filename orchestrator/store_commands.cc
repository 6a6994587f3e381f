// The readers of a store: `status`, `export --tensorboard` (and the isolation every reader of a store for
// people shares).
#include "orchestrator/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/isolated.h"
#include "orchestrator/plots.h"
#include "storage/foreign.h"
#include "storage/results_store.h"
#include "report/store_views.h"

namespace signsweep::orchestrator {

// The text a reader for people makes of a store, made in a child process (storage/foreign.h): a crafted or
// corrupt store ends the child, not this process.
std::string text_of_store(const std::string& store_dir, const std::function<std::string(const storage::ResultsStore&)>& text) {
  return common::run_isolated_for(store_dir, storage::store_read_limits(store_dir),
                                  [&] { return text(storage::ResultsStore::open_existing(store_dir)); });
}

// Reads the store afresh each time (the writer replaces trial files atomically: every read is consistent).
int cmd_status(const std::string& store_dir, double watch_seconds) {
  while (true) {
    // The status, then a last line saying whether trials are still pending or running.
    std::string text = text_of_store(store_dir, [](const storage::ResultsStore& store) {
      const auto all = store.read_all(false);
      const bool busy = std::any_of(all.begin(), all.end(), [](const storage::TrialRecord& r) {
        return r.state == storage::TrialState::kPending || r.state == storage::TrialState::kRunning;
      });
      return report::status_text(store, all) + (busy ? "1" : "0");
    });
    const bool busy = text.back() == '1';
    text.pop_back();
    if (watch_seconds > 0.0 && ::isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J";  // clear the terminal
    std::cout << text << std::flush;
    if (watch_seconds <= 0.0 || !busy) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(watch_seconds));
  }
}

namespace {

// The interpreter with tensorboardX: $SIGNSWEEP_TENSORBOARD_PYTHON, else the virtual environment
// scripts/setup-tensorboard.sh makes in .venv-tensorboard/ of the data directory (the source tree in a build).
std::string tensorboard_python() {
  if (const char* p = std::getenv("SIGNSWEEP_TENSORBOARD_PYTHON"); p != nullptr && *p != 0) return p;
  const std::filesystem::path venv = std::filesystem::path(data_directory()) / ".venv-tensorboard" / "bin" / "python";
  if (std::filesystem::exists(venv)) return venv.string();
  throw InputError(fmt::format("export --tensorboard needs tensorboardX: run scripts/setup-tensorboard.sh (a virtual "
                               "environment in {}) or point SIGNSWEEP_TENSORBOARD_PYTHON at a Python that has it",
                               venv.parent_path().parent_path().string()));
}

}  // namespace

int cmd_export_tensorboard(const std::string& store_dir, const std::string& dir) {
  const std::string python = tensorboard_python();
  std::filesystem::create_directories(dir);
  const std::string script = bundled_script("tensorboard.py", "SIGNSWEEP_TENSORBOARD_SCRIPT");
  // The store is read in a child process (storage/foreign.h); the script reads only the exports written here.
  common::run_isolated(store_dir, storage::store_read_limits(store_dir), [&] {
    const storage::ResultsStore store = storage::ResultsStore::open_existing(store_dir);
    const std::filesystem::path out(dir);
    write_text_file((out / "trials.csv").string(), report::export_csv(store));
    write_text_file((out / "series.csv").string(), report::export_series_csv(store));
    std::set<std::string> axes;
    for (const storage::PlannedTrial& t : store.plan())
      for (const auto& [axis, value] : t.axes) axes.insert(axis);
    std::string lines;
    for (const std::string& a : axes) lines += a + "\n";
    write_text_file((out / "axes.txt").string(), lines);
  });
  const int rc = run_program({python, script, dir});
  if (rc == 2) throw InputError(fmt::format("export --tensorboard: {} refused its input (its message is above)", script));
  if (rc != 0) throw Error(fmt::format("export --tensorboard: {} exited with {}", script, rc));
  return 0;
}

}  // namespace signsweep::orchestrator
