// The `signsweep` command line: subcommands, their options and help, and the one place where
// exceptions become exit codes (0 ok, 1 run failed, 2 usage or config error).
#pragma once

namespace signsweep::orchestrator {

// Parses argv, runs the chosen subcommand, returns the process exit code. Never throws.
int run_cli(int argc, char** argv);

}  // namespace signsweep::orchestrator
