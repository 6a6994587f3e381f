#!/usr/bin/env bash
# Set-up, build and the whole test suite (ctest: GoogleTest unit tests and CLI tests).
# Tests that read the real CIFAR-10 JPEG copy use ../shared/data/cifar10-jpeg.tar.gz when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cifar_tar=../shared/data/cifar10-jpeg.tar.gz
if [[ -f $cifar_tar ]]; then
  if [[ ! -d build/data/cifar10-jpeg/train ]]; then
    mkdir -p build/data/cifar10-jpeg
    tar xzf "$cifar_tar" -C build/data/cifar10-jpeg
  fi
  export SIGNSWEEP_CIFAR10_JPEG_DIR=$PWD/build/data/cifar10-jpeg
fi
cd build
ctest --output-on-failure -j "$(nproc)"
