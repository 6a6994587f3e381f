#include "common/hash.h"

#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "common/errors.h"

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

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", path));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace signsweep::common
