// One logger for the whole process (spdlog's default logger), with the MPI rank in every line:
//   [12:03:44.120] [rank 0] [info] message
// Call init_logging once in main; library code then uses spdlog::info/warn/error directly.
#pragma once

#include <string>

namespace signsweep::common {

// `level` is one of trace, debug, info, warn, error. Logs go to stderr, results to stdout; coloured only on a
// terminal and never when NO_COLOR is set.
void init_logging(int rank, const std::string& level);

}  // namespace signsweep::common
