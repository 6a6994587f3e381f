// JSON from files and peers (Keras model configurations, a store's plan, messages between ranks), parsed with
// signsweep's limits (common/limits.h): text past kMaxStringBytes and nesting past kMaxNestingDepth are refused
// before the parser goes deeper. Throws DataError "<origin>: ..." for those and for invalid JSON.
// Thread-safety: a pure function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace signsweep::common {

nlohmann::json parse_json(const std::string& text, const std::string& origin);

}  // namespace signsweep::common
