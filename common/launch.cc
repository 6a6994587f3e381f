#include "common/launch.h"

#include <cstdlib>
#include <string>

#include "common/errors.h"

namespace signsweep::common {

std::optional<int> launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) {
      try {
        return std::stoi(v);
      } catch (const std::exception&) {
        // not a number: ask the next launcher variable
      }
    }
  return std::nullopt;
}

bool prints_error(const std::exception& e, std::optional<int> rank) {
  if (dynamic_cast<const ReportedInputError*>(&e) != nullptr) return false;
  if (dynamic_cast<const InputError*>(&e) == nullptr) return true;
  return rank.value_or(launcher_rank().value_or(0)) == 0;
}

}  // namespace signsweep::common
