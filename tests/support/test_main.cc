// gtest main for every unit test binary: registers the built-in data sets and models and keeps the
// log quiet (warnings and errors only).
#include <gtest/gtest.h>

#include "common/allocator.h"
#include "common/log.h"
#include "workers/registry.h"

int main(int argc, char** argv) {
  signsweep::common::keep_freed_memory_for_reuse();
  ::testing::InitGoogleTest(&argc, argv);
  signsweep::common::init_logging(0, "warn");
  signsweep::workers::register_builtins();
  return RUN_ALL_TESTS();
}
