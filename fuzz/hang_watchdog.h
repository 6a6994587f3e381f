// A hang caught in a fraction of a second. libFuzzer's -timeout counts whole seconds of wall-clock time and
// looks every limit/2 + 1 s, so a hang costs a run 1 to 2 s each time it is found, and HDF5 1.10.8 loops for
// ever on some crafted global heaps (README): two thirds of a keras_hdf5 run went there. This watchdog counts
// the CPU time (ITIMER_PROF) one input takes and, past SIGNSWEEP_FUZZ_HANG_MS, ends the process the way
// libFuzzer ends it on a timeout: the stack, the input saved as <artifact_prefix>timeout-<hash>, exit code
// -timeout_exitcode (70), which fork mode's -ignore_timeouts counts as a timeout. libFuzzer's own -timeout
// still stands behind it for a hang that burns no CPU (a blocked call).
// Off (nothing armed) when SIGNSWEEP_FUZZ_HANG_MS is unset or 0, as when a target is run by hand.
#pragma once

#include <cstddef>
#include <cstdint>

namespace signsweep::fuzz {

// Reads SIGNSWEEP_FUZZ_HANG_MS and libFuzzer's -artifact_prefix= and -timeout_exitcode= from its arguments.
void install_hang_watchdog(int argc, char** argv);

// Arms the watchdog for one input (the bytes it saves if that input hangs); disarms it when it goes.
class HangWatch {
 public:
  HangWatch(const uint8_t* data, size_t size);
  ~HangWatch();
  HangWatch(const HangWatch&) = delete;
  HangWatch& operator=(const HangWatch&) = delete;
};

}  // namespace signsweep::fuzz
