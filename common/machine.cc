#include "common/machine.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace signsweep::common {

int usable_cores() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) return std::max(1, CPU_COUNT(&mask));
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace signsweep::common
