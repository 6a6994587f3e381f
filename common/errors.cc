#include "common/errors.h"

namespace signsweep {

std::string without_backtrace(const std::string& message) {
  return message.substr(0, message.find("\nException raised from"));
}

int exit_code_for(const std::exception& e) noexcept {
  if (dynamic_cast<const Interrupted*>(&e) != nullptr) return kExitInterrupted;
  if (dynamic_cast<const WriteError*>(&e) != nullptr) return kExitStoreUnwritable;
  return dynamic_cast<const InputError*>(&e) != nullptr ? 2 : 1;
}

}  // namespace signsweep
