// The store's catalog: a cache of its trial records (without series) that lets `status`, `report` and a
// resuming run read a store of 10^5 trials without opening 10^5 HDF5 files (docs/benchmarks.md: opening and
// reading one trial file costs about 0.25 ms here, 25 s for 10^5; the catalog makes it one stat(2) each).
//   <store>/catalog/<seq>.cbor   immutable segments (CBOR, written atomically by the store's one writer):
//                                the records written since the previous segment, each with the signature of
//                                the trial file it describes (inode, size, mtime, ctime)
// The trial files stay the truth. A reader uses a catalogued record only while its trial file still has the
// signature the catalog recorded; any other trial (never catalogued, written after the last segment, changed
// by someone else, or a segment that cannot be read) is read from its file. So a crash, a lost or corrupt
// segment, or a store written by an older version costs only speed, never a wrong record.
// The writer appends a segment every kRecordsPerSegment records or kSecondsPerSegment seconds, and when it
// closes; a run that resumes a store replaces every segment by one (compact). Torch-free.
// Thread-safety: one writer (the process holding the store's lock); readers may read concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/trial_record.h"

namespace signsweep::storage {

// What changes whenever a file is replaced (rename gives a new inode) or edited in place (mtime, ctime).
struct FileSignature {
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileSignature& o) const {
    return inode == o.inode && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};

// The file's signature, or nullopt when it does not exist (or cannot be stat'ed).
std::optional<FileSignature> signature_of(const std::string& path);

struct CatalogEntry {
  FileSignature file;
  TrialRecord record;  // id, state, error, attempts, provenance, results, has_checkpoint; no series, no plan
};

// Every entry of every readable segment of <store_dir>/catalog, the latest per trial id. Segments that
// cannot be read (truncated, removed by a compaction while listed, not CBOR) are skipped.
struct Catalog {
  std::map<std::string, CatalogEntry> entries;
  size_t segments = 0;
};
Catalog read_catalog(const std::string& store_dir);

class CatalogWriter {
 public:
  static constexpr size_t kRecordsPerSegment = 4096;
  static constexpr double kSecondsPerSegment = 30.0;

  CatalogWriter(std::string store_dir, bool durable);
  ~CatalogWriter();  // writes what is buffered (a failure is logged: the catalog is a cache)
  CatalogWriter(const CatalogWriter&) = delete;
  CatalogWriter& operator=(const CatalogWriter&) = delete;

  // Buffers the record written to a trial file with `file` as its signature; writes a segment when due.
  void add(const TrialRecord& record, const FileSignature& file);
  // Writes the buffered records as a segment (none when nothing is buffered). A segment that cannot be
  // written is logged, not thrown: the trial files hold every record, readers then read those from there.
  void flush();
  // Replaces every segment by one holding `entries` (a new segment first, then the old ones are removed).
  void compact(const std::vector<CatalogEntry>& entries);

 private:
  void write_segment(const std::vector<CatalogEntry>& entries);  // throws WriteError
  void write_buffer();                                             // with mutex_ held

  std::string dir_;
  bool durable_;
  std::mutex mutex_;
  uint64_t next_seq_ = 0;
  std::vector<CatalogEntry> buffer_;
  std::chrono::steady_clock::time_point last_flush_;
};

}  // namespace signsweep::storage
