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

namespace {

// The value as the error shows it: a crafted document's value can be long.
std::string shown(const nlohmann::json& v) {
  constexpr size_t kShown = 40;
  std::string text = v.dump();
  return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
}

// nlohmann keeps a non-negative integer as unsigned (up to 2^64 - 1) and a negative one as signed.
bool integer_within(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    return hi >= 0 && u <= static_cast<uint64_t>(hi) && (lo <= 0 || u >= static_cast<uint64_t>(lo));
  }
  return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

}  // namespace

int64_t json_integer(const nlohmann::json& v, const std::string& what, int64_t lo, int64_t hi) {
  if (!integer_within(v, lo, hi))
    throw DataError(fmt::format("{}: expected an integer in [{}, {}], got {}", what, lo, hi, shown(v)));
  return v.get<int64_t>();
}

std::vector<int64_t> json_integers(const nlohmann::json& v, const std::string& what, int64_t lo, int64_t hi) {
  if (!v.is_array()) throw DataError(fmt::format("{}: expected a list of integers, got {}", what, shown(v)));
  std::vector<int64_t> values;
  values.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) values.push_back(json_integer(v[i], fmt::format("{}[{}]", what, i), lo, hi));
  return values;
}

double json_number(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number()) throw DataError(fmt::format("{}: expected a number, got {}", what, shown(v)));
  return v.get<double>();
}

}  // namespace signsweep::common
