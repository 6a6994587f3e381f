// The signsweep executable: everything happens in run_cli.
#include "common/allocator.h"
#include "orchestrator/cli.h"

int main(int argc, char** argv) {
  signsweep::common::keep_freed_memory_for_reuse();
  return signsweep::orchestrator::run_cli(argc, argv);
}
