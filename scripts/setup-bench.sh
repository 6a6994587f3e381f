#!/usr/bin/env bash
# Extra packages for the benchmarks in bench/ (run by hand, not by CI): PyTorch eager from Debian, the
# same LibTorch 1.13.1 build signsweep links, for bench/compare_train_step.sh.
set -euo pipefail
bash "$(dirname "$0")/setup.sh"
dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed" ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch
