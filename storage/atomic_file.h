// Replacing a file atomically: the bytes go to `<path>.tmp-<pid>`, which is written with checked write(2)s,
// fsync'd and renamed over `path`. A crash leaves either the old file or the new one, never a half-written
// file at `path`; a failure removes the temporary file and throws WriteError naming the path, the OS's reason
// and, when space ran out, the space left on that filesystem. `durable` = false skips the fsync: still safe
// against a killed process (the page cache survives it), not against a power loss or kernel crash. Every
// file the store holds is written here: HDF5 files are built in memory first (h5.h: write_atomically),
// LibTorch archives are serialised to memory first (train/training_state.cc).
// Thread-safety: independent calls on different paths may run concurrently.
#pragma once

#include <sys/types.h>

#include <string>

namespace signsweep::storage {

void write_file_atomically(const std::string& path, const std::string& bytes, bool durable = true, mode_t mode = 0644);

// rename(2) `from` to `to` (same filesystem): atomic, and a writer still holding `from`'s old name open or
// about to rename a new file onto it never touches `to`. A failure is a WriteError naming both paths.
void move_file(const std::string& from, const std::string& to);

// mkdir -p `dir`; a failure is a WriteError naming the directory and the reason.
void make_directories(const std::string& dir);

// `dir` (which may not exist yet) can be written: its nearest existing ancestor is a writable directory on a
// filesystem mounted read-write. Throws ConfigError naming `what` (e.g. "--out"), the path and the reason.
void check_writable(const std::string& dir, const std::string& what);

// Why a write under `path` failed, for a message: the OS's reason for `error` (an errno), and for ENOSPC or
// EDQUOT the space left on the filesystem that holds `path` ("No space left on device; 0 B free of 2 MiB").
std::string write_failure_reason(const std::string& path, int error);

}  // namespace signsweep::storage
