// Stable content hashes (FNV-1a, 64 bits): the same bytes give the same value on every machine and in
// every build, so they can name things that must survive a relaunch (trial ids, sweep hashes, derived
// seeds). Not cryptographic. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::common {

uint64_t fnv1a_64(const std::string& text);
// fnv1a_64 as 16 hex digits.
std::string content_hash(const std::string& text);
// A file's bytes; throws InputError naming the file when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace signsweep::common
