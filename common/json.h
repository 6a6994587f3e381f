// JSON from files and peers (Keras model configurations, a store's plan, messages between ranks), parsed with
// signsweep's limits (common/limits.h): text past kMaxStringBytes and nesting past kMaxNestingDepth are refused
// before the parser goes deeper. Throws DataError "<origin>: ..." for those and for invalid JSON.
// Numbers are read with json_integer / json_number, never nlohmann's get<int64_t>(): that casts a float
// (1e30, or an integer too long for 64 bits, which parses as one) to the integer without a check, undefined
// behaviour, and a boolean to 0 or 1.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace signsweep::common {

nlohmann::json parse_json(const std::string& text, const std::string& origin);

// v as an integer in [lo, hi]; DataError "<what>: expected an integer in [lo, hi], got <v>" otherwise.
int64_t json_integer(const nlohmann::json& v, const std::string& what, int64_t lo = std::numeric_limits<int64_t>::min(),
                     int64_t hi = std::numeric_limits<int64_t>::max());
// v as a list of integers, each in [lo, hi] (named "<what>[i]" in the error).
std::vector<int64_t> json_integers(const nlohmann::json& v, const std::string& what,
                                   int64_t lo = std::numeric_limits<int64_t>::min(),
                                   int64_t hi = std::numeric_limits<int64_t>::max());
// v as a number (integer or float); DataError "<what>: expected a number, got <v>" otherwise.
double json_number(const nlohmann::json& v, const std::string& what);

}  // namespace signsweep::common
