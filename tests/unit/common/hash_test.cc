#include "common/hash.h"

#include <gtest/gtest.h>

namespace signsweep::common {
namespace {

TEST(HashTest, sha256_matches_the_standards_test_vectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, content_matches_a_sha256_or_an_older_stores_fnv_hash_and_nothing_else) {
  EXPECT_TRUE(content_matches(sha256_hex("model bytes"), "model bytes"));
  EXPECT_FALSE(content_matches(sha256_hex("model bytes"), "model bytez"));
  EXPECT_TRUE(content_matches(content_hash("model bytes"), "model bytes"));  // 16 hex digits: FNV-1a
  EXPECT_FALSE(content_matches(content_hash("model bytes"), "model bytez"));
  EXPECT_FALSE(content_matches("", "model bytes"));
}

}  // namespace
}  // namespace signsweep::common
