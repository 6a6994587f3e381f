#include "common/hash.h"

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <openssl/evp.h>

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

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 failed (OpenSSL EVP_Digest)");
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

bool content_matches(const std::string& recorded, const std::string& bytes) {
  return recorded.size() == 16 ? recorded == content_hash(bytes) : recorded == sha256_hex(bytes);
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", path));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace signsweep::common
