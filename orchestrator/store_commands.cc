// The readers of a store: `status` (and the isolation every reader of a store for people shares).
#include "orchestrator/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>

#include "common/isolated.h"
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
      return report::status_text(store) + (busy ? "1" : "0");
    });
    const bool busy = text.back() == '1';
    text.pop_back();
    if (watch_seconds > 0.0 && ::isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J";  // clear the terminal
    std::cout << text << std::flush;
    if (watch_seconds <= 0.0 || !busy) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(watch_seconds));
  }
}

}  // namespace signsweep::orchestrator
