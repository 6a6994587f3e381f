// Every input a fuzzer found a reader mishandling (scripts/fuzz.sh), read again by the same reader
// (fuzz/readers.h): tests/fuzz_findings/<reader>/<what it was>. Each must now be refused with the reader's own
// error (InputError naming the file, or ProtocolError for a message), not crash, throw another type, or (in
// the sanitizer build) touch memory it does not own.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz/readers.h"
#include "tests/support/files.h"

namespace signsweep::fuzz {
namespace {

namespace fs = std::filesystem;

struct Finding {
  std::string reader;
  fs::path file;
};

std::vector<Finding> all_findings() {
  std::vector<Finding> out;
  for (const auto& dir : fs::directory_iterator(SIGNSWEEP_FUZZ_FINDINGS_DIR))
    for (const auto& file : fs::directory_iterator(dir.path())) out.push_back({dir.path().filename().string(), file.path()});
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.file < b.file; });
  return out;
}

void PrintTo(const Finding& f, std::ostream* os) { *os << f.file.string(); }

class FuzzFinding : public ::testing::TestWithParam<Finding> {};

TEST_P(FuzzFinding, is_refused_with_the_readers_own_error) {
  const Finding& f = GetParam();
  const std::vector<uint8_t> bytes = testing::read_bytes(f.file.string());
  const std::optional<std::string> refusal = read_input(f.reader, bytes.data(), bytes.size());
  ASSERT_TRUE(refusal.has_value()) << f.file << " was accepted";
  EXPECT_FALSE(refusal->empty());
}

TEST(FuzzFindings, every_finding_names_a_reader) {
  const std::vector<std::string>& names = reader_names();
  for (const Finding& f : all_findings())
    EXPECT_NE(std::find(names.begin(), names.end(), f.reader), names.end()) << f.file;
}

INSTANTIATE_TEST_SUITE_P(Findings, FuzzFinding, ::testing::ValuesIn(all_findings()),
                         [](const ::testing::TestParamInfo<Finding>& info) {
                           std::string name = info.param.reader + "_" + info.param.file.filename().string();
                           std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return name;
                         });

}  // namespace
}  // namespace signsweep::fuzz
