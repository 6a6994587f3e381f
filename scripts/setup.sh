#!/usr/bin/env bash
# Installs every Debian package signsweep needs to build, test and run (idempotent). As a user who is not root,
# it checks that they are there and otherwise prints the one apt-get line an administrator would run (exit 2).
# --no-install-recommends matters: the recommends pull in OpenBLAS, whose TLS breaks civetweb's
# small thread stacks (see ../shared/spec/toolchain.md) and brings no speed.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # fixed dependencies
  libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libyaml-cpp-dev
  prometheus-cpp-dev libgtest-dev
  # small well-kept libraries
  libcli11-dev libspdlog-dev libfmt-dev libmatio-dev libturbojpeg0-dev libpng-dev zlib1g-dev
  libbenchmark-dev nlohmann-json3-dev libboost-math-dev libssl-dev
  # the embedded default data set
  dataset-fashion-mnist
  # a real Prometheus server for the exporter's integration test; curl, python3 and h5py (what users
  # read the results store with) for the test scripts; matplotlib for report --plots
  prometheus curl python3 python3-h5py python3-matplotlib
  # a real single-node Slurm cluster for the batch script's test (tests/slurm/slurm_test.sh)
  slurm-wlm munge
)

# --clang: also clang and its sanitizer runtimes (the CMake presets sanitize and fuzz).
if [[ ${1:-} == --clang ]]; then
  PACKAGES+=(clang libclang-rt-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [[ $(id -u) -ne 0 ]]; then  # a user on a shared machine: say what to ask for
  echo "setup.sh: ${#missing[@]} package(s) missing and this is not root; an administrator would run:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "(or build against your own dependencies: docs/building.md)" >&2
  exit 2
fi
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup.sh: all ${#PACKAGES[@]} packages present"
