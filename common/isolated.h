// Running work on untrusted input in a child process (fork), so that what the work cannot survive (a crash,
// a loop without end, an unbounded allocation inside a third-party library) ends the child, not this process.
// storage/foreign.h reads files signsweep did not write this way: HDF5 1.10.8 itself crashes and hangs on
// some crafted files (fuzz/known/hdf5-1.10.8/), and a suspect's model file is made by whoever hands it over.
//
// The child runs `work` and leaves with _exit: no atexit handler, no stdio flush, no MPI_Finalize. So `work`
// must touch only memory and files (no MPI, no CUDA, no thread pool of this process); the readers in storage/
// are such work. The child's outcome comes back as this process's exception:
//   `work` returns                                    -> run_isolated returns (run_isolated_for: its text)
//   `work` throws an InputError                       -> DataError with the child's message (exit 2)
//   `work` throws another exception                   -> Error with the child's message (exit 1)
//   `work` needs more than `memory_bytes` more memory -> DataError naming `what` and the limit
//   the child runs past `seconds`                     -> it is killed; DataError naming `what` and the limit
//   the child dies of a fault (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL) or of a sanitizer report
//                                                     -> DataError naming `what` and the signal
//   the child is killed by anything else (Ctrl-C, the OOM killer) -> Error naming `what` and the signal
// Thread-safety: call from one thread at a time per process (fork copies only the calling thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace signsweep::common {

struct IsolationLimits {
  double seconds = 120;  // wall time of the child
  // Address space the child may add to what it inherits (RLIMIT_AS). Not applied in sanitizer builds, whose
  // allocators reserve terabytes of address space up front.
  int64_t memory_bytes = int64_t{4} << 30;
};

// `what` names the input in every message ("model.h5", "runs/quickstart").
void run_isolated(const std::string& what, const IsolationLimits& limits, const std::function<void()>& work);
// The same, for work whose result is text (a report of what it read; up to limits::kMaxStringBytes): the
// child's return value, passed back through the pipe.
std::string run_isolated_for(const std::string& what, const IsolationLimits& limits, const std::function<std::string()>& work);

}  // namespace signsweep::common
