#!/usr/bin/env bash
# Builds signsweep with AddressSanitizer + UndefinedBehaviorSanitizer (clang from Debian, -O1, debug info):
#   bash scripts/build-sanitize.sh          everything, into build-sanitize/ (scripts/test.sh --sanitize runs its suite)
#   bash scripts/build-sanitize.sh --fuzz   the libFuzzer targets and their seed writer, into build-fuzz/, every TU
#                                           also instrumented for libFuzzer's coverage (scripts/fuzz.sh runs them)
# Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-sanitize target=all fuzz=OFF
if [[ ${1:-} == --fuzz ]]; then
  shift
  build=build-fuzz target=fuzzers fuzz=ON
fi
bash scripts/setup.sh >/dev/null
if ! command -v clang++ >/dev/null || [[ ! -d /usr/lib/llvm-14/lib/clang ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "build-sanitize.sh: clang missing; apt-get install clang libclang-rt-dev" >&2; exit 2; }
  apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DSIGNSWEEP_SANITIZE=address,undefined -DSIGNSWEEP_BUILD_FUZZERS=$fuzz -DSIGNSWEEP_BUILD_BENCH=OFF "$@" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "$target"
