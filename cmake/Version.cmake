# Generates build_info.cc with the git commit (re-read at every build, rewritten only when it changes,
# so a new commit never forces a rebuild of anything but this one small file).
include_guard(GLOBAL)
string(REPLACE ";" "\\n" SIGNSWEEP_LIB_VERSIONS_TEXT "${SIGNSWEEP_LIB_VERSIONS}")
set(SIGNSWEEP_BUILD_INFO_CC "${CMAKE_BINARY_DIR}/generated/build_info.cc")
add_custom_target(signsweep_build_info_gen
  BYPRODUCTS "${SIGNSWEEP_BUILD_INFO_CC}"
  COMMAND "${CMAKE_COMMAND}"
    -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
    -DOUTPUT=${SIGNSWEEP_BUILD_INFO_CC}
    -DPROJECT_VERSION=${PROJECT_VERSION}
    "-DLIB_VERSIONS=${SIGNSWEEP_LIB_VERSIONS_TEXT}"
    -P "${CMAKE_SOURCE_DIR}/cmake/WriteBuildInfo.cmake"
  COMMENT "signsweep: reading git commit"
  VERBATIM)
# Write it once now as well, so the file exists when the targets that compile it are generated.
execute_process(COMMAND "${CMAKE_COMMAND}"
  -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${SIGNSWEEP_BUILD_INFO_CC} -DPROJECT_VERSION=${PROJECT_VERSION}
  "-DLIB_VERSIONS=${SIGNSWEEP_LIB_VERSIONS_TEXT}" -P "${CMAKE_SOURCE_DIR}/cmake/WriteBuildInfo.cmake")
