#!/usr/bin/env bash
# Builds signsweep against the second LibTorch line (PyTorch 2.11 + CUDA 13.0 from scripts/setup-torch2.sh)
# into build-torch2/, with CUDA: every CUDA-only code path (GPU UUIDs through the CUDA runtime, the CUDA
# tests) is compiled and linked here even on a machine without a GPU. Same flags and warnings as the Debian
# build (scripts/build.sh), the Prometheus exporter on. Extra arguments go to cmake.
# Needs the CUDA toolkit (nvcc) that the wheel's LibTorch was built for: CUDA 13.0 (CUDACXX or PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SIGNSWEEP_TORCH2_VENV:-/opt/signsweep/torch2}
[[ -x $venv/bin/python ]] || { echo "build-torch2.sh: no venv at $venv: run scripts/setup-torch2.sh first" >&2; exit 2; }
prefix=$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvcc=${CUDACXX:-$(command -v nvcc || true)}
[[ -n $nvcc ]] || { echo "build-torch2.sh: nvcc not found (install the CUDA 13.0 toolkit or set CUDACXX)" >&2; exit 2; }
# The wheel's CUDA libraries (libcudart.so.13, cuDNN, ...) live in the venv's nvidia/ packages; LibTorch's
# RUNPATH finds them there. Tests run against this build from scripts/test.sh --torch2.
cmake -S . -B build-torch2 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CUDA_COMPILER="$nvcc" -DSIGNSWEEP_REQUIRE_CUDA=ON "$@" >/dev/null
cmake --build build-torch2 -j "$(nproc)"
