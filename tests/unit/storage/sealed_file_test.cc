// Files that carry the SHA-256 of their content: every single-byte change is refused, the unsealed files of
// earlier versions pass unchecked, and a sealed HDF5 file is still an HDF5 file.
#include "storage/sealed_file.h"

#include <gtest/gtest.h>

#include <string>

#include "common/hash.h"
#include "storage/h5.h"
#include "tests/support/files.h"

namespace signsweep::storage {
namespace {

const std::string kZip{"PK\x03\x04", 4};

TEST(SealedFileTest, the_content_reads_back_after_its_header) {
  const std::string bytes = sealed("PK\x03\x04 an archive");
  ASSERT_EQ(bytes.size(), kSealSize + 15);
  EXPECT_EQ(bytes.substr(checked_content_offset("f", bytes, kZip, "a zip")), "PK\x03\x04 an archive");
}

TEST(SealedFileTest, every_single_byte_flipped_anywhere_is_refused_naming_the_file) {
  const std::string good = sealed(std::string(300, 'x') + "end");
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    try {
      checked_content_offset("dir/state.pt", bad, kZip, "a zip");
      ADD_FAILURE() << "a byte flipped at " << i << " was not noticed";
    } catch (const CorruptFile& e) {
      EXPECT_NE(std::string(e.what()).find("dir/state.pt: corrupt"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(checked_content_offset("f", good.substr(0, 100), kZip, "a zip"), CorruptFile);  // truncated inside the header
  EXPECT_THROW(checked_content_offset("f", good.substr(0, good.size() - 1), kZip, "a zip"), CorruptFile);  // or after it
}

TEST(SealedFileTest, a_file_of_an_earlier_version_starts_with_its_formats_signature_and_is_read_unchecked) {
  const std::string legacy = kZip + "whatever follows";
  EXPECT_EQ(checked_content_offset("f", legacy, kZip, "a zip"), 0U);
}

TEST(SealedFileTest, a_sealed_hdf5_file_keeps_the_hash_in_its_user_block_and_opens_as_hdf5) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "c.h5").string();
  write_atomically(path, [](File& f) { f.set_attribute("/", "format", std::string("x")); }, false, /*sealed=*/true);
  const std::string bytes = common::read_file_bytes(path);
  EXPECT_EQ(bytes.compare(0, 17, "signsweep-sha256 "), 0);
  EXPECT_EQ(checked_content_offset(path, bytes, "\x89HDF", "an HDF5 file"), kSealSize);
  EXPECT_EQ(bytes.compare(kSealSize, 4, "\x89HDF"), 0);  // the superblock right after the user block
  EXPECT_EQ(File(path, OpenMode::kReadOnly).string_attribute("/", "format"), "x");
}

}  // namespace
}  // namespace signsweep::storage
