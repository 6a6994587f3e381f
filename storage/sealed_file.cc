#include "storage/sealed_file.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/hash.h"

namespace signsweep::storage {
namespace {

constexpr std::string_view kMagic = "signsweep-sha256 ";
constexpr size_t kHexDigits = 64;

std::string content_hash_of(const std::string& bytes) { return common::sha256_hex(bytes.substr(kSealSize)); }

}  // namespace

void seal_in_place(std::string& bytes) {
  if (bytes.size() < kSealSize) throw Error("seal_in_place: no room for the header");
  const std::string header = std::string(kMagic) + content_hash_of(bytes) + "\n";
  std::fill(bytes.begin(), bytes.begin() + kSealSize, '\0');
  std::copy(header.begin(), header.end(), bytes.begin());
}

std::string sealed(const std::string& content) {
  std::string bytes(kSealSize, '\0');
  bytes += content;
  seal_in_place(bytes);
  return bytes;
}

size_t checked_content_offset(const std::string& path, const std::string& bytes, std::string_view unsealed_signature,
                              std::string_view format) {
  if (bytes.compare(0, unsealed_signature.size(), unsealed_signature) == 0) return 0;
  const size_t header_length = kMagic.size() + kHexDigits + 1;
  const bool well_formed = bytes.size() >= kSealSize && bytes.compare(0, kMagic.size(), kMagic) == 0 &&
                           bytes[header_length - 1] == '\n' &&
                           std::all_of(bytes.begin() + header_length, bytes.begin() + kSealSize, [](char c) { return c == '\0'; });
  if (!well_formed)
    throw CorruptFile(fmt::format("{}: corrupt, or not {}: its first {} bytes are neither a signsweep checksum header nor "
                                  "the signature of {}",
                                  path, format, kSealSize, format));
  const std::string recorded = bytes.substr(kMagic.size(), kHexDigits);
  const std::string actual = content_hash_of(bytes);
  if (recorded != actual)
    throw CorruptFile(fmt::format("{}: corrupt: the SHA-256 of its content is {}, but the file was written with {} "
                                  "(a damaged disk or copy, or an edit): it is not read",
                                  path, actual, recorded));
  return kSealSize;
}

}  // namespace signsweep::storage
