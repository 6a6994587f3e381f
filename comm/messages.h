// The messages between rank 0 (scheduler, sole writer of the store) and the leaders of worker groups,
// as plain structs with their encoding; how they travel is mailbox.h (the scheduler's view) and
// mpi_transport.h (MPI). Every payload is a JSON string, small and versionless within one job:
//   leader -> 0  kReady     {group}                       once, when the group is formed
//   0 -> leader  kTask      Task                          a trial to run
//   0 -> leader  kStop      ""                            no more work: leave the loop
//   leader -> 0  kProgress  Progress                      a few per second at most (non-blocking)
//   leader -> 0  kResult    Result                        the trial's outcome; the group is ready again
//   0 -> leader  kInterrupt ""                            the run must stop: finish the step, save the resumable
//                                                         state, answer with an interrupted Result (ignored when idle)
//   leader -> 0  kHeartbeat ""                            while a trial runs, when nothing else was sent for the
//                                                         task's heartbeat_s: rank 0 declares a running group that
//                                                         stays silent past the sweep's lost_after lost
// Inside a group, the leader broadcasts the Task (or the stop) to its members (broadcast_string). At start,
// every rank reports its host and visible GPUs to rank 0 (RankReport, gathered) and rank 0 sends each its
// device (scattered). MPI-free.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "core/trial_results.h"
#include "core/vocabulary.h"

namespace signsweep::comm {

enum Tag : int { kReady = 1, kTask = 2, kStop = 3, kProgress = 4, kResult = 5, kInterrupt = 6, kHeartbeat = 7 };

struct Task {
  std::string id;
  core::TrialKind kind;
  std::string label;
  std::string config_yaml;  // trial config (training trials) or attack mapping
  std::string checkpoint;   // where a training trial writes its model
  std::string parent_checkpoint;  // the model an attack starts from, or a null check reads
  std::vector<std::string> null_checkpoints;  // null check: the null models' checkpoints
  std::string state;        // training trials: the resumable state (resumed from when it exists)
  int64_t attempt = 1;
  bool report_progress = false;  // send kProgress messages (rank 0 serves metrics)
  double time_limit_s = 0.0;     // training stops with an error after the first epoch past it (0 = none)
  double heartbeat_s = 0.0;      // the leader tells rank 0 it is alive at least this often while it runs (0 = never)
};

// Durations binned where they are measured, into the buckets of rank 0's histograms: every step is
// observed there however seldom progress messages travel (a histogram observes every step, not a mean).
struct DurationBins {
  std::vector<int64_t> counts;  // per bucket of duration_bucket_bounds(), then one for +Inf; empty: none yet
  double sum = 0.0;             // seconds
  void add(double seconds);
  void add(const std::vector<double>& seconds);
  int64_t total() const;
  void clear() { *this = {}; }
};
// Upper bounds (seconds) of the step and allreduce histogram buckets, from 1 ms to 10 s.
const std::vector<double>& duration_bucket_bounds();

struct Progress {
  std::string id;
  int group = 0;
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t steps = 0;
  double loss = 0.0;
  double accuracy = 0.0;
  double bit_accuracy = 0.0;
  double images_per_second = 0.0;
  DurationBins step_times;       // the steps since the previous message
  DurationBins allreduce_times;  // their gradient allreduces (data-parallel groups)
  int64_t images = 0;            // the images those steps trained on (the whole group's batches)
};

struct Result {
  std::string id;
  bool ok = false;
  bool interrupted = false;  // stopped on request with its resumable state saved: not a failure
  bool store_failed = false;  // a write to the store failed (WriteError: disk full, read-only): the run stops
  std::string error;
  core::TrialResults results;
  std::map<std::string, std::vector<double>> series;
};

// What a rank tells rank 0 at start (make_layout): where it runs and the GPUs it sees.
struct RankReport {
  std::string host;
  std::vector<std::string> gpus;  // the GPUs it sees, by UUID ("" when unknown), in cuda:N order
  std::vector<int> cpus;          // its CPU affinity mask (common::affinity_cpus)
  int cpus_per_task = 0;          // SLURM_CPUS_PER_TASK, 0 when unset
};

// A message that does not decode (corrupt, of another signsweep version, or past common/limits.h): the run
// fails with this error naming the message kind; decoders throw nothing else.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

std::string encode(const Task& t);
std::string encode(const RankReport& r);
RankReport decode_rank_report(const std::string& s);
std::string encode(const Progress& p);
std::string encode(const Result& r);
Task decode_task(const std::string& s);
Progress decode_progress(const std::string& s);
Result decode_result(const std::string& s);

}  // namespace signsweep::comm
