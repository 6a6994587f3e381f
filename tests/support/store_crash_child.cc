// The writer the crash test kills: opens a results store for a fixed plan of `n` synthetic trials and
// runs every trial that is not done (state running, then done with a 200-point series and scalars that
// are a function of the trial's index, so the test can check every finished trial bit for bit). Appends
// "start <id>" / "done <id>" to <store>/log.txt around each trial (write(2) with O_APPEND: a line is
// either whole or absent after SIGKILL).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "common/hash.h"
#include "storage/results_store.h"

using signsweep::storage::PlannedTrial;
using signsweep::storage::ResultsStore;
using signsweep::storage::TrialRecord;
using signsweep::storage::TrialState;

namespace {

void log_line(const std::string& dir, const std::string& line) {
  const int fd = ::open((dir + "/log.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const std::string text = line + "\n";
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::abort();
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: store_crash_child <store dir> <trials>\n";
    return 2;
  }
  const std::string dir = argv[1];
  const int n = std::atoi(argv[2]);
  std::vector<PlannedTrial> plan;
  for (int i = 0; i < n; ++i) {
    const std::string config = "trial: " + std::to_string(i) + "\n";
    plan.push_back({signsweep::common::content_hash(config), signsweep::core::TrialKind{signsweep::core::Stage::kEmbed}, "i=" + std::to_string(i), "", {{"i", std::to_string(i)}}, config});
  }
  const ResultsStore store =
      ResultsStore::open_for_sweep(dir, {signsweep::common::content_hash("crash sweep"), "crash.yaml", "crash"}, plan, false);
  for (int i = 0; i < n; ++i) {
    TrialRecord r = *store.read(plan[i].id, false);
    if (r.state == TrialState::kDone) continue;
    r.state = TrialState::kRunning;
    r.attempts += 1;
    store.write_trial(r);
    log_line(dir, "start " + plan[i].id);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.state = TrialState::kDone;
    for (int k = 0; k < 200; ++k) r.series["loss"].push_back(i * 1000.0 + k / 7.0);
    r.results.figures["value"] = i / 3.0;
    store.write_trial(r);
    log_line(dir, "done " + plan[i].id);
  }
  return 0;
}
