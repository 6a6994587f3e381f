#!/usr/bin/env bash
# Set-up and the main job on the embedded default (Fashion-MNIST from the Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec ./build/signsweep train experiments/quickstart.yaml
