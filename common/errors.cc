#include "common/errors.h"

namespace signsweep {

int exit_code_for(const std::exception& e) noexcept {
  return dynamic_cast<const InputError*>(&e) != nullptr ? 2 : 1;
}

}  // namespace signsweep
