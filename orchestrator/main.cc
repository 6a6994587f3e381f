// The signsweep executable: everything happens in run_cli.
#include "orchestrator/cli.h"

int main(int argc, char** argv) { return signsweep::orchestrator::run_cli(argc, argv); }
