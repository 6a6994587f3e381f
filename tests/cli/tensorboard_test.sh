#!/usr/bin/env bash
# `signsweep export STORE --tensorboard DIR` on a small sweep (2 seeds x 3 epochs, attacked by quantization and
# pruning), read back with TensorBoard's own reader: every per-epoch value, every hyperparameter and the final
# metrics against the exports (check_tensorboard.py), and the experiment summary that declares every axis.
# Usage: tensorboard_test.sh <signsweep> <source dir>. Exit 77 = skipped: no .venv-tensorboard
# (scripts/setup-tensorboard.sh needs PyPI).
set -uo pipefail
bin=$1
src=$2
python=${SIGNSWEEP_TENSORBOARD_PYTHON:-$src/.venv-tensorboard/bin/python}
[[ -x $python ]] || { echo "SKIP: $python missing (run scripts/setup-tensorboard.sh)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/s.yaml" <<Y
name: tb
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 3, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1]}
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
  - {attack: prune, epochs: 1, images_per_class: 20, grid: {rate: [0.0, 0.5]}}
Y
"$bin" run "$tmp/s.yaml" --out "$tmp/store" >"$tmp/run.log" 2>&1 || { echo "FAIL: the sweep"; tail "$tmp/run.log"; exit 1; }
"$bin" export "$tmp/store" --tensorboard "$tmp/tb" || { echo "FAIL: export --tensorboard exited $?"; exit 1; }
ls "$tmp/tb"
"$python" "$src/tests/cli/check_tensorboard.py" "$tmp/tb" && echo PASS
