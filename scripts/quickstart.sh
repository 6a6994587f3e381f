#!/usr/bin/env bash
# Set-up and the main job on the embedded default (Fashion-MNIST from the Debian package): the quickstart
# sweep (6 watermarked models, each quantized and pruned) into runs/quickstart/, then its tables and, in
# runs/quickstart-report/, the tables and figures of `signsweep report --plots`. A relaunch resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --workflow --preset default   # build/ (CMakePresets.json)
./build/signsweep run experiments/quickstart-sweep.yaml --out runs/quickstart
./build/signsweep report runs/quickstart --table embed
./build/signsweep report runs/quickstart --table attacks
./build/signsweep report runs/quickstart --plots runs/quickstart-report
