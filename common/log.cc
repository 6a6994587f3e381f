#include "common/log.h"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::common {

namespace {

// Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
spdlog::color_mode colour_mode() {
  const char* no_color = std::getenv("NO_COLOR");
  return no_color != nullptr && *no_color != '\0' ? spdlog::color_mode::never : spdlog::color_mode::automatic;
}

}  // namespace

void init_logging(int rank, const std::string& level) {
  // Called again once the MPI rank is known: the logger is replaced, not duplicated.
  spdlog::drop("signsweep");
  auto logger = spdlog::stderr_color_mt("signsweep", colour_mode());
  logger->set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", rank));
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw ConfigError(fmt::format("--log-level = '{}': expected trace, debug, info, warn or error", level));
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace signsweep::common
