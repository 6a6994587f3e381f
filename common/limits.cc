#include "common/limits.h"

#include <fmt/format.h>

#include "common/errors.h"

namespace signsweep::limits {

void check(const std::string& origin, const std::string& what, int64_t value, int64_t limit) {
  if (value <= limit) return;
  const std::string amount = value == kSaturated ? "more than 2^63 - 1" : std::to_string(value);
  throw DataError(fmt::format("{}: {} {} exceeds signsweep's limit of {} (README: Input limits)", origin, what, amount, limit));
}

int64_t saturated_product(int64_t a, int64_t b) {
  int64_t out = 0;
  return a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out) ? kSaturated : out;
}

int64_t saturated_sum(int64_t a, int64_t b) {
  int64_t out = 0;
  return a < 0 || b < 0 || __builtin_add_overflow(a, b, &out) ? kSaturated : out;
}

}  // namespace signsweep::limits
