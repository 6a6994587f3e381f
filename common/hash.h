// Stable content hashes. FNV-1a (64 bits) names things that must survive a relaunch (trial ids, sweep
// hashes): the same bytes give the same value on every machine and in every build; not cryptographic, so it
// never guards against a file substituted on purpose. SHA-256 (OpenSSL) does: sha256_hex.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::common {

uint64_t fnv1a_64(const std::string& text);
// fnv1a_64 as 16 hex digits.
std::string content_hash(const std::string& text);
// SHA-256 of `bytes` as 64 hex digits: what guards a file given to a sweep against substitution.
std::string sha256_hex(const std::string& bytes);
// Whether `bytes` are the content `recorded` names: a SHA-256 (64 hex digits), or the FNV-1a content_hash
// (16) that stores planned before SHA-256 recorded.
bool content_matches(const std::string& recorded, const std::string& bytes);
// A file's bytes; throws InputError naming the file when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace signsweep::common
