#!/usr/bin/env bash
# The GPU checks of issues #3 and #6 as one prepared script for the lent GPU machine (the `device` tool:
# run it from the repository root, e.g. `bash scripts/gpu_check.sh`; logs go to $OUT). Not needed, and not
# run, anywhere else. NOT YET RUN: no session so far was lent the machine; expect to fix the build first.
#  1. Build against the installed PyTorch's CUDA LibTorch (the exporter off: prometheus-cpp is not there).
#  2. `signsweep --version` must see >= 1 GPU; `trainer.device: cuda` trains a tiny synthetic trial there.
#  3. The MPI sweep test: with one GPU its device part checks that 2 worker ranks on cuda:0 are refused
#     without --allow-gpu-sharing and run with it, each rank on cuda:0, provenance cuda:0.
set -uo pipefail
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DSIGNSWEEP_WITH_PROMETHEUS=OFF >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
ninja -C build-cuda signsweep data_format_tests >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
build-cuda/signsweep --version | tee "$out/version.txt"
build-cuda/tests/data_format_tests --gtest_filter='Device*' | tail -3
cat >"$out/tiny.yaml" <<Y
dataset: {name: synthetic, channels: 3, height: 32, width: 32, classes: 10, train_size: 2000}
model: {name: resnet20}
trainer: {epochs: 2, batch_size: 100, lr: 0.01, device: cuda}
watermark: {bits: 16, carriers: 32, lambda: 1.0, verify: {images: 50, repeats: 2, remote_images: 20, h: [0.001]}}
Y
build-cuda/signsweep train "$out/tiny.yaml" --out "$out/tiny.h5" 2>&1 | tail -15 | tee "$out/train.txt"
bash tests/mpi/sweep_mpi_test.sh "$PWD/build-cuda/signsweep" "$(command -v mpirun)" 2>&1 | tail -15 | tee "$out/mpi.txt"
