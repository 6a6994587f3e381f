#include "common/json.h"

#include <fmt/format.h>

#include "common/errors.h"
#include "common/limits.h"

namespace signsweep::common {

nlohmann::json parse_json(const std::string& text, const std::string& origin) {
  limits::check(origin, "JSON text of bytes", static_cast<int64_t>(text.size()), limits::kMaxStringBytes);
  // The parser reports every value with its depth as it reads it: a deeper one stops the parse there.
  const auto bounded_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    limits::check(origin, "JSON nesting depth", depth, limits::kMaxNestingDepth);
    return true;
  };
  try {
    return nlohmann::json::parse(text, bounded_depth);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
}

}  // namespace signsweep::common
