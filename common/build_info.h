// What this binary was built from; filled in at build time by cmake/WriteBuildInfo.cmake.
#pragma once

namespace signsweep::common {

const char* git_commit();
bool git_dirty();
const char* signsweep_version();
// One "name version" per line, as found by CMake at configure time.
const char* library_versions();

}  // namespace signsweep::common
