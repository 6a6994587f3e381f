// One libFuzzer target per reader: this file compiled with SIGNSWEEP_FUZZ_READER naming the reader
// (fuzz/CMakeLists.txt). The reader's error for bad input is swallowed by read_input; anything else is a finding.
#include "fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  signsweep::fuzz::read_input(SIGNSWEEP_FUZZ_READER, data, size);
  return 0;
}
