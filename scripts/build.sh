#!/usr/bin/env bash
# Installs the packages (scripts/setup.sh) and builds signsweep into build/ (Release, Ninja, ccache).
# Extra arguments go to cmake, e.g. -DSIGNSWEEP_WITH_PROMETHEUS=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)"
