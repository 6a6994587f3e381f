#include "common/hash.h"

#include <fmt/format.h>

namespace signsweep::common {

uint64_t fnv1a_64(const std::string& text) {
  uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string content_hash(const std::string& text) { return fmt::format("{:016x}", fnv1a_64(text)); }

}  // namespace signsweep::common
