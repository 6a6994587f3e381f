#!/usr/bin/env bash
# Set-up, build and the whole test suite (ctest: GoogleTest unit tests and CLI tests).
#   bash scripts/test.sh           Debian's LibTorch 1.13 (CPU), build/  (the README's command, CI)
#   bash scripts/test.sh --torch2  PyTorch's LibTorch 2.11 with CUDA, build-torch2/ (scripts/setup-torch2.sh,
#                                  scripts/build-torch2.sh); CUDA-labelled tests report SKIPPED without a GPU
# Extra arguments go to ctest (e.g. -L cuda, -R cli). Tests that read the real CIFAR-10 JPEG copy use
# ../shared/data/cifar10-jpeg.tar.gz when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ ${1:-} == --torch2 ]]; then
  shift
  bash scripts/setup-torch2.sh
  bash scripts/build-torch2.sh
  build=build-torch2
else
  bash scripts/build.sh
fi
cifar_tar=../shared/data/cifar10-jpeg.tar.gz
if [[ -f $cifar_tar ]]; then
  if [[ ! -d build/data/cifar10-jpeg/train ]]; then
    mkdir -p build/data/cifar10-jpeg
    tar xzf "$cifar_tar" -C build/data/cifar10-jpeg
  fi
  export SIGNSWEEP_CIFAR10_JPEG_DIR=$PWD/build/data/cifar10-jpeg
fi
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
