// One live writer per results store (conventions.md): `signsweep run` holds an exclusive POSIX record lock
// (fcntl F_SETLK) on <store>/lock for as long as it runs, and the file's text names the holder:
//   host <name> pid <pid> started <ISO-8601 UTC>
// A second run on the store is refused (ConfigError naming the holder). The kernel releases the lock of a
// process that dies, so the lock of a killed run is taken over, with a warning naming the dead holder.
// Readers (status, report, export, h5py) never take it.
// Shared filesystems: fcntl locks are seen across hosts on NFS (v3 with lockd, v4) and on Lustre mounted with
// -o flock; with -o localflock (or no flock option) they are node-local, and two runs on different nodes would
// not see each other's lock. Torch-free.
// Thread-safety: one per process; a process must not open <store>/lock elsewhere (closing any descriptor of
// the file drops a POSIX lock).
#pragma once

#include <string>

namespace signsweep::storage {

class StoreLock {
 public:
  // Creates <dir>/lock if absent and locks it; throws ConfigError naming the holder when another process
  // holds it, StorageError when the file cannot be opened or locked for another reason.
  explicit StoreLock(const std::string& dir);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  // The text of a lock this one took over from a process that died holding it ("" when the file was free).
  const std::string& taken_over() const { return taken_over_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string taken_over_;
};

}  // namespace signsweep::storage
