// Results store at scale: write N trial results (5 series of 200 points each, 8 scalars) through the
// atomic per-trial path, then read every one back and aggregate a report table (mean test accuracy per
// value of one axis). Prints seconds for each phase (with user and kernel CPU), per-trial cost, and peak RSS.
//   build/bench/bench_store [trials=10000] [durable=1] [dir=/tmp/signsweep-store-bench-<pid>] [series=5]
// The store is kept (its path is printed): file creation on ext4 is several times slower for minutes after
// many files were deleted (the inode allocator skips recently freed inodes), so a benchmark that deleted
// its store would slow the next run (e.g. 10-13 s instead of 7-8 s for 10,000 trials here, the difference
// all kernel time). Delete old stores well before measuring.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "bench/measure.h"
#include "common/hash.h"
#include "storage/results_store.h"

using namespace signsweep::storage;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// User and kernel CPU seconds of this process so far (the kernel share is mostly file creation).
std::pair<double, double> cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return {secs(u.ru_utime), secs(u.ru_stime)};
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 10000;
  const bool durable = argc > 2 ? std::stoi(argv[2]) != 0 : true;
  const std::string dir = argc > 3 ? argv[3] : fmt::format("/tmp/signsweep-store-bench-{}", ::getpid());
  const int series_per_trial = argc > 4 ? std::stoi(argv[4]) : 5;
  if (std::filesystem::exists(dir)) {
    std::cerr << dir << ": exists; give a new directory (the header says why this does not delete it)\n";
    return 2;
  }
  std::vector<PlannedTrial> plan;
  for (int i = 0; i < n; ++i) {
    const std::string config = fmt::format("watermark: {{bits: {}, lambda: {}}}\nseed: {}\n", 16 << (i % 4), 0.1 * (i % 5), i);
    plan.push_back({signsweep::common::content_hash(config), signsweep::core::TrialKind{signsweep::core::Stage::kEmbed}, fmt::format("trial {}", i), "",
                    {{"watermark.bits", std::to_string(16 << (i % 4))}, {"seed", std::to_string(i)}}, config});
  }
  auto t0 = std::chrono::steady_clock::now();
  const ResultsStore store = ResultsStore::open_for_sweep(dir, {signsweep::common::content_hash("bench"), "bench.yaml", "bench"}, plan, false, durable);
  const double index_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto cpu0 = cpu_seconds();
  for (int i = 0; i < n; ++i) {
    TrialRecord r;
    r.trial = plan[static_cast<size_t>(i)];
    r.state = TrialState::kDone;
    r.attempts = 1;
    r.provenance = {{"git_commit", "0123456789ab"}, {"host", "bench"}, {"device", "cpu"}};
    const char* names[] = {"loss", "accuracy", "bit_accuracy", "lr", "images_per_second"};
    for (int s = 0; s < std::min(series_per_trial, 5); ++s)
      for (int k = 0; k < 200; ++k) r.series[names[s]].push_back(i + k * 0.001);
    std::map<std::string, double> scalars;
    for (const char* s : {"test_accuracy", "ber_white_box", "p_value", "seconds", "a", "b", "c", "d"}) scalars[s] = i * 1e-4;
    r.results = signsweep::core::TrialResults::from_scalars(scalars);
    store.write_trial(r);
  }
  const double write_s = seconds_since(t0);
  const auto cpu1 = cpu_seconds();
  t0 = std::chrono::steady_clock::now();
  const ResultsStore reader = ResultsStore::open_existing(dir);
  const std::vector<TrialRecord> all = reader.read_all(/*with_series=*/true);
  std::map<std::string, std::pair<double, int>> table;
  size_t points = 0;
  for (const TrialRecord& r : all) {
    auto& cell = table[r.trial.axes.at("watermark.bits")];
    cell.first += r.results.test_accuracy.value_or(0.0);
    cell.second += 1;
    for (const auto& [name, s] : r.series) points += s.size();
  }
  const double read_s = seconds_since(t0);
  const auto cpu2 = cpu_seconds();
  uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += e.file_size();
  std::cout << fmt::format(
      "trials {} durable(fsync) {} series/trial {}\nindex_write_s {:.3f}\nwrite_s {:.3f} ({:.3f} ms/trial; cpu user {:.2f} s, kernel "
      "{:.2f} s)\nread_and_report_s {:.3f} ({:.3f} ms/trial, {} series points; cpu user {:.2f} s, kernel {:.2f} s)\nstore_mib "
      "{:.1f}\npeak_rss_mib {:.1f}\n",
      n, durable, series_per_trial, index_s, write_s, 1e3 * write_s / n, cpu1.first - cpu0.first, cpu1.second - cpu0.second,
      read_s, 1e3 * read_s / n, points, cpu2.first - cpu1.first, cpu2.second - cpu1.second,
      static_cast<double>(bytes) / (1 << 20), signsweep::bench::peak_rss_mib());
  std::cout << fmt::format("store kept at {}\n", dir);
  return 0;
}
