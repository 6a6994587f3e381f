// One libFuzzer target per reader: this file compiled with SIGNSWEEP_FUZZ_READER naming the reader and
// SIGNSWEEP_FUZZ_READERS the table that holds it, storage_readers or all_readers (fuzz/CMakeLists.txt: a target
// links only its table's library). The reader's error for bad input is swallowed by read_input; anything else
// is a finding, a hang too (fuzz/hang_watchdog.h).
#include "fuzz/hang_watchdog.h"
#include "fuzz/readers.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  signsweep::fuzz::install_hang_watchdog(*argc, *argv);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const signsweep::fuzz::Readers& readers = signsweep::fuzz::SIGNSWEEP_FUZZ_READERS();
  const signsweep::fuzz::HangWatch watch(data, size);
  signsweep::fuzz::read_input(readers, SIGNSWEEP_FUZZ_READER, data, size);
  return 0;
}
