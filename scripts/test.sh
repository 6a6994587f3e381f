#!/usr/bin/env bash
# Set-up, build and the whole test suite (ctest: GoogleTest unit tests and CLI tests).
#   bash scripts/test.sh           Debian's LibTorch 1.13 (CPU), build/  (the README's command, CI)
#   bash scripts/test.sh --torch2  PyTorch's LibTorch 2.11 with CUDA, build-torch2/ (scripts/setup-torch2.sh,
#                                  the CMake preset torch2); CUDA-labelled tests report SKIPPED without a GPU
#   bash scripts/test.sh --sanitize  AddressSanitizer (leaks included) + UndefinedBehaviorSanitizer, clang,
#                                  build-sanitize/ (the CMake preset sanitize); a finding fails its test. Leaks of
#                                  third-party libraries only are suppressed, each with its reason:
#                                  tests/sanitizers/lsan.supp. Run it before a change to a reader, the store or the protocol.
# Extra arguments go to ctest (e.g. -L cuda, -R cli). Tests that read the real CIFAR-10 JPEG copy use
# ../shared/data/cifar10-jpeg.tar.gz when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=default build=build  # the preset's binaryDir (CMakePresets.json)
if [[ ${1:-} == --torch2 ]]; then
  shift
  preset=torch2 build=build-torch2
  bash scripts/setup-torch2.sh
  venv=${SIGNSWEEP_TORCH2_VENV:-/opt/signsweep/torch2}
  SIGNSWEEP_TORCH_PREFIX=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  export SIGNSWEEP_TORCH_PREFIX
  # CMake finds nvcc through CUDACXX or PATH; the wheel's LibTorch was built for CUDA 13.0.
  [[ -n ${CUDACXX:-} ]] || command -v nvcc >/dev/null ||
    { echo "test.sh --torch2: nvcc not found (install the CUDA 13.0 toolkit or set CUDACXX)" >&2; exit 2; }
elif [[ ${1:-} == --sanitize ]]; then
  shift
  preset=sanitize build=build-sanitize
  bash scripts/setup.sh --clang
  # Every process the suite starts (tests, signsweep under mpirun, the store's crash child) reads these.
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  bash scripts/setup.sh
fi
# The TensorBoard writer's virtual environment (PyPI); without it the export test reports SKIPPED.
bash scripts/setup-tensorboard.sh || echo "test.sh: no .venv-tensorboard (PyPI unreachable?): tensorboard_export is skipped" >&2
cmake --workflow --preset "$preset"
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
