// The error hierarchy of signsweep. Library code throws these with context (file, key, value,
// offset); only a process's main() catches them and maps them to exit codes (see exit_code_for).
// Thread-safety: plain value types.
#pragma once

#include <stdexcept>
#include <string>

namespace signsweep {

// Root of every signsweep error. A bare Error means "the run failed" (exit 1).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Something the user gave us is wrong: YAML, CLI values, data files, checkpoints (exit 2).
class InputError : public Error {
 public:
  using Error::Error;
};

// A YAML key or CLI value: the message names the file, line and key.
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

// A key no parser reads (a typo, or a key of another scheme/attack): `key()` is its dotted path.
class UnknownKeyError : public ConfigError {
 public:
  UnknownKeyError(const std::string& message, std::string key) : ConfigError(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Bad input that was already printed (by rank 0 of an MPI job, for every rank): exit 2, nothing more to say.
class ReportedInputError : public InputError {
 public:
  ReportedInputError() : InputError("(reported by rank 0)") {}
};

// A data file (dataset, key file, checkpoint) that cannot be read: the message names the file.
class DataError : public InputError {
 public:
  using InputError::InputError;
};

// The run was asked to stop (SIGTERM or SIGUSR1: a preemption, a time limit) and saved what it needs to
// resume: the process exits with kExitInterrupted so that a batch script can requeue it.
class Interrupted : public Error {
 public:
  using Error::Error;
};
// EX_TEMPFAIL: "try again later" (sysexits.h).
inline constexpr int kExitInterrupted = 75;

// HDF5 or filesystem failure while reading or writing results.
class StorageError : public Error {
 public:
  using Error::Error;
};

// A file signsweep writes (a store's records, checkpoints, resumable states, its index) could not be written:
// no space left, a quota, a read-only filesystem, an I/O error. The message names the path, the OS's reason
// and, when space ran out, the space left. Not a trial's failure: a run stops as for SIGTERM (the trials in
// progress keep their last good state) and exits kExitStoreUnwritable.
class WriteError : public StorageError {
 public:
  using StorageError::StorageError;
};
// EX_IOERR (sysexits.h): free space (or fix the filesystem) and relaunch to resume.
inline constexpr int kExitStoreUnwritable = 74;

// A run under mpirun declared worker groups lost (silent past the sweep's lost_after: a hung or stopped rank,
// a host gone): their trials ran elsewhere or stay pending, and rank 0 ended the job (MPI_Abort: a hung rank
// never reaches MPI_Finalize). Relaunch (requeue) to finish what is pending, away from the hosts named.
inline constexpr int kExitGroupsLost = 76;

// The process exit code for an exception caught at the top of a process: 2 for bad input of any kind,
// kExitInterrupted (75) for an interrupted run, kExitStoreUnwritable (74) for a write that failed, 1 for
// everything else.
// The message of a LibTorch error without the C++ backtrace it appends (users need the message).
std::string without_backtrace(const std::string& message);

int exit_code_for(const std::exception& e) noexcept;

}  // namespace signsweep
