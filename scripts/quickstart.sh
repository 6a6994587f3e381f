#!/usr/bin/env bash
# Set-up and the main job on the embedded default (Fashion-MNIST from the Debian package): the quickstart
# sweep (4 watermarked models, each attacked by quantization and pruning) into runs/quickstart/, then its
# tables. A relaunch resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/signsweep run experiments/quickstart-sweep.yaml --out runs/quickstart
./build/signsweep report runs/quickstart --table embed
./build/signsweep report runs/quickstart --table attacks
