// Secrets an attacker must not be able to recompute: random bytes from the OS, and seeds derived from such a
// secret with a keyed hash (HMAC-SHA256, OpenSSL), so that knowing the message (a trial's public settings)
// without the key gives nothing. Thread-safety: pure functions (random_secret_hex reads the OS's generator).
#pragma once

#include <cstdint>
#include <string>

namespace signsweep::common {

// `bytes` random bytes from getrandom(2), as 2 x bytes hex digits. Throws Error when the OS gives none.
std::string random_secret_hex(size_t bytes = 32);
// A seed below 2^53 (exact as a double and in JSON) from HMAC-SHA256(key, message).
uint64_t keyed_seed(const std::string& key, const std::string& message);
// A seed below 2^53 drawn from the OS.
uint64_t random_seed();

}  // namespace signsweep::common
