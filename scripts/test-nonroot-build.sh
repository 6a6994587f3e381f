#!/usr/bin/env bash
# signsweep for a user who is not root (#32 §4), tested here: the administrator has installed the Debian
# packages (scripts/setup.sh as root); the user installs LibTorch with a user-level `pip install torch` (the
# PyPI wheel, PyTorch's LibTorch 2.x) and builds and runs signsweep against it, in their home directory only.
#
#   bash scripts/test-nonroot-build.sh      # as root: it creates the user (useradd) and then works as that user
#
# As the user: a clone of this repository in their home; scripts/setup.sh (checks only: installs nothing and
# exits 0 when every package is there); python3 -m venv + pip install torch==$TORCH_VERSION; cmake --preset
# default with CMAKE_PREFIX_PATH = torch.utils.cmake_prefix_path (what docs/building.md tells a cluster user);
# builds the signsweep binary; checks that it links the venv's LibTorch and not Debian's; trains a small
# GradSigns model (synthetic data) and verifies it, and dry-runs the quickstart sweep. The wheel is the CUDA
# build, so CMake needs the CUDA toolkit (nvcc), as from `module load cuda` on a cluster: /usr/local/cuda here.
# Takes about 25 minutes on the 2-core VM (the build); not part of CI's time budget.
set -euo pipefail
readonly TORCH_VERSION=2.11.0
user=${SIGNSWEEP_TEST_USER:-signsweep-user}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ $(id -u) != 0 ]]; then
  echo "test-nonroot-build.sh: run as root (it creates the user $user)" >&2
  exit 2
fi
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
rm -rf "$home/signsweep"
git clone -q "$repo" "$home/signsweep"  # root's repository, handed over to the user
chown -R "$user:" "$home/signsweep"
cuda_bin=/usr/local/cuda/bin

runuser -u "$user" -- env -i HOME="$home" USER="$user" LANG=C.UTF-8 PATH="$cuda_bin:/usr/local/bin:/usr/bin:/bin" \
  PIP_FIND_LINKS="${PIP_FIND_LINKS:-}" TORCH_VERSION="$TORCH_VERSION" bash -euo pipefail -c '
cd ~/signsweep
echo "== as $(id -un) (uid $(id -u)), in $PWD"
touch /usr/local/signsweep-write-test 2>/dev/null && { echo "the user can write /usr/local: not a user test" >&2; exit 1; }
bash scripts/setup.sh
/usr/bin/python3 -m venv ~/torch-venv
~/torch-venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
prefix=$(~/torch-venv/bin/python -c "import torch; print(torch.utils.cmake_prefix_path)")
echo "== LibTorch from the user-level wheel: $prefix"
cmake --preset default -DCMAKE_PREFIX_PATH="$prefix" -DSIGNSWEEP_BUILD_TESTS=OFF -DSIGNSWEEP_BUILD_BENCH=OFF >/dev/null
start=$(date +%s)
cmake --build --preset default --target signsweep -j2 | tail -1
echo "== built in $(( $(date +%s) - start )) s"
torch_lib=$(ldd build/signsweep | awk "/libtorch_cpu/ {print \$3}")
echo "== build/signsweep links $torch_lib"
[[ $torch_lib == "$HOME"/torch-venv/* ]] || { echo "not the venv LibTorch" >&2; exit 1; }
build/signsweep --version
cat >~/tiny.yaml <<Y
dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
model: {name: small-cnn, width: 8}
trainer: {epochs: 2, batch_size: 50, seed: 0}
watermark: {scheme: gradsigns, bits: 24, carriers: 32, lambda: 0.3, target_class: 0, seed: 0}
Y
build/signsweep train ~/tiny.yaml --out ~/runs/tiny.h5 | tail -3
build/signsweep verify ~/runs/tiny.h5 | tail -2
build/signsweep run experiments/quickstart-sweep.yaml --dry-run --out ~/runs/qs | tail -2
echo "== non-root build and run: OK"
'
