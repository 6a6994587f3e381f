#include "common/secret.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/errors.h"

namespace signsweep::common {

namespace {

constexpr uint64_t kBelow53Bits = (uint64_t{1} << 53) - 1;

std::vector<unsigned char> random_bytes(size_t n) {
  std::vector<unsigned char> out(n);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw Error(fmt::format("getrandom: {}", std::strerror(errno)));
    got += static_cast<size_t>(r);
  }
  return out;
}

uint64_t first_53_bits(const unsigned char* bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[i];
  return v & kBelow53Bits;
}

}  // namespace

std::string random_secret_hex(size_t bytes) {
  std::string hex;
  for (const unsigned char b : random_bytes(bytes)) hex += fmt::format("{:02x}", b);
  return hex;
}

uint64_t keyed_seed(const std::string& key, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), mac, &size) == nullptr ||
      size < 8)
    throw Error("HMAC-SHA256 failed (OpenSSL)");
  return first_53_bits(mac);
}

uint64_t random_seed() { return first_53_bits(random_bytes(8).data()); }

}  // namespace signsweep::common
