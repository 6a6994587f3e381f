// The results store of one sweep, crash-safe by construction (conventions.md, HDF5):
//   <store>/sweep.h5            index, written once per sweep (atomically) and never modified after:
//                               attrs format "signsweep-sweep", format_version, sweep_hash, sweep_file,
//                               plan_hash (of the planned ids in order: a resume whose plan hashes the same
//                               skips reading /plan);
//                               /sweep (resolved sweep YAML), /plan (JSON list of planned trials),
//                               /trials/<id> -> external link to trials/<id>.h5:/trial (dangling while pending)
//   <store>/trials/<id>.h5      one file per trial, replaced atomically (temp name, fsync, rename) when the
//                               trial starts (state running) and when it ends (done / failed): a reader sees
//                               the old file or the new one, never half of one
//   <store>/checkpoints/<id>.h5 the trial's model, if it keeps one: written by its worker group as
//                               <id>.h5.attempt-<n> and moved here by rank 0 when it takes the result
//   <store>/states/<id>.<n>.pt  a training trial's resumable state while it has one (LibTorch archive), one
//                               name per attempt n: a group declared lost that wakes up (scheduler.h) writes
//                               only files nobody reads any more
//   <store>/catalog/<seq>.cbor  a cache of the trial records for fast reads of large stores (catalog.h)
//   <store>/lock                held by the one run that writes the store (store_lock.h)
// A trial file holds /trial with attrs id, kind, label, parent, state, error, attempts, sweep_hash,
// checkpoint; /trial/config (YAML); attrs of /trial/axes, /trial/provenance (strings) and /trial/results
// (doubles); /trial/series: the per-epoch series as one table, a record per epoch with a float64 field per
// series (chunked, gzip, resizable 1-D; stores of the first layout have /trial/series/<name> datasets,
// still read); /trial/parent -> the parent trial; /trial/checkpoint -> the checkpoint file's root.
// kill -9 at any instant loses no finished trial: the index exists before any trial runs, and a trial
// file is either absent, the previous complete version, or the new complete version. Left-over temp
// files are removed by the next writer. Torch-free.
// Thread-safety: one writer process (rank 0); readers may open concurrently (they never block it: files
// are opened, read and closed; see README for HDF5_USE_FILE_LOCKING on shared filesystems).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/trial_record.h"

namespace signsweep::storage {

class StoreLock;
class CatalogWriter;

struct SweepIdentity {
  std::string hash;  // of the resolved sweep spec (content hash: the same spec gives the same hash)
  std::string file;  // the sweep YAML it came from
  std::string yaml;  // the resolved spec
};

constexpr const char* kSweepFormat = "signsweep-sweep";
// 3: a store has a secret (<store>/secret) and a trial's watermark secrets derive from it, so the resolved
//    config (and with it the trial id) holds no watermark seed unless the sweep pins one.
// 2: trial ids hash the resolved config (defaults filled in, canonical numbers); plans list `needs`; derived
//    watermark seeds were part of the resolved config (recomputable from the sweep's YAML).
// 1: ids hashed the config as written. Stores of versions 1 and 2 stay readable (status, report, export) but
// are not resumed: their ids would not match, and every trial would run again.
constexpr int64_t kSweepFormatVersion = 3;
constexpr int64_t kOldestReadableSweepFormat = 1;

class ResultsStore {
 public:
  // Opens the store at `dir` for the sweep, creating it when absent, and holds its lock (store_lock.h) for as
  // long as the returned store (or a copy) lives: a store another run holds is refused (ConfigError naming
  // the holder). A store of another sweep is refused (ConfigError naming both sweep files) unless `extend`,
  // which adds the new plan's trials to it. A store of an older format is refused (ConfigError saying why
  // and what to do), and nothing in it is changed.
  static ResultsStore open_for_sweep(const std::string& dir, const SweepIdentity& sweep, const std::vector<PlannedTrial>& plan,
                                     bool extend, bool durable = true);
  // An existing store, for status / report / export (DataError when `dir` holds no readable store).
  static ResultsStore open_existing(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const SweepIdentity& sweep() const { return sweep_; }
  int64_t format_version() const { return format_version_; }
  // The store's secret: 64 hex digits from the OS, made when a run first opens the store and kept in
  // <store>/secret (mode 0600), never in the index, a trial file, a log, a report or an export. The watermark
  // secrets of trials that pin no watermark.seed derive from it (workers/schemes/watermark_spec.h): a
  // resume reproduces them, and nobody without the store, nor another store of the same sweep, can.
  // Throws Error for a store opened with open_existing (readers never need it).
  const std::string& secret() const;
  const std::vector<PlannedTrial>& plan() const { return plan_; }

  // Replaces the trial's file atomically (the only write path for a trial).
  void write_trial(const TrialRecord& record) const;
  // Writes the catalog's buffered records (catalog.h); a run calls it when it ends. No-op for readers.
  void flush_catalog() const;
  // Every planned trial with its state (pending when it has no file yet); series only when asked. Without
  // series, trials come from the catalog where it still describes their files (catalog.h); a writer then
  // rewrites the catalog as one segment when it had to read any trial file.
  std::vector<TrialRecord> read_all(bool with_series) const;
  std::optional<TrialRecord> read(const std::string& id, bool with_series) const;

  std::string trial_path(const std::string& id) const;
  std::string checkpoint_path(const std::string& id) const;
  // Where attempt `attempt` of a training trial keeps its resumable state (written by the trainer).
  std::string state_path(const std::string& id, int64_t attempt) const;
  // Before attempt `attempt` starts: the previous attempt's state (or one of the earlier layout,
  // states/<id>.pt) is moved to this attempt's path, so the trial resumes from it. A move: the previous
  // attempt's group, if it is still alive somewhere, can only write the old name. WriteError on failure.
  void hand_over_state(const std::string& id, int64_t attempt) const;
  // Removes the trial's resumable states (up to attempt `attempt`) once it has ended.
  void remove_states(const std::string& id, int64_t attempt) const;
  // Where attempt `attempt` writes the trial's model; publish_checkpoint moves it to checkpoint_path(id) once
  // rank 0 takes that attempt's result (a late result of a lost group is never taken, so its model is never
  // the trial's). DataError when the attempt wrote none; WriteError when the move fails.
  std::string staged_checkpoint_path(const std::string& id, int64_t attempt) const;
  void publish_checkpoint(const std::string& id, int64_t attempt) const;

 private:
  ResultsStore(std::string dir, SweepIdentity sweep, std::vector<PlannedTrial> plan, bool durable,
               int64_t format_version = kSweepFormatVersion)
      : dir_(std::move(dir)), sweep_(std::move(sweep)), plan_(std::move(plan)), durable_(durable),
        format_version_(format_version) {}
  void write_index() const;
  // The trial's record: its file, or pending (from `planned`) when it has none yet.
  TrialRecord read_record(const std::string& id, const PlannedTrial* planned, bool with_series) const;

  std::string dir_;
  SweepIdentity sweep_;
  std::vector<PlannedTrial> plan_;
  bool durable_ = true;
  int64_t format_version_ = kSweepFormatVersion;
  std::shared_ptr<const StoreLock> lock_;  // writers only
  std::shared_ptr<CatalogWriter> catalog_;  // writers only (catalog.h)
  std::string secret_;                     // writers only
};

}  // namespace signsweep::storage
