#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then the installed binary run from outside the source tree: it
# finds its own files relative to where it is installed (--version's "data" line, report --plots drawn by the
# installed plots.py), runs a sweep and validates the installed experiments.
# Usage: install_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
bin=$tmp/prefix/bin/signsweep
share=$tmp/prefix/share/signsweep
for f in "$share/plots.py" "$share/experiments/quickstart-sweep.yaml" "$share/experiments/cifar10/robustness.yaml" \
         "$share/dashboards/signsweep-sweep.json" "$tmp/prefix/share/doc/signsweep/README.md"; do
  [[ -f $f ]] || { echo "FAIL: $f not installed"; exit 1; }
done
cd "$tmp"  # nothing of the source tree is reachable from here by relative paths
# (outputs go to files first: grep -q under pipefail would fail the pipeline by closing it early)
"$bin" --version >version.txt
grep -qx "data $share" version.txt || { echo "FAIL: the installed binary does not read $share:"; cat version.txt; exit 1; }
"$bin" run "$share/experiments/quickstart-sweep.yaml" --dry-run >dry.txt 2>&1
grep -q "48 trials: 6 embed, 42 attacks" dry.txt || { echo "FAIL: the installed quickstart sweep does not validate"; cat dry.txt; exit 1; }
cp "$src/tests/support/tiny-sweep.yaml" tiny.yaml
"$bin" run tiny.yaml --out store >run.log 2>&1 || { echo "FAIL: run"; cat run.log; exit 1; }
env -u SIGNSWEEP_PLOTS_SCRIPT "$bin" report store --plots plots >report.txt 2>&1
grep -q "figure quantization" report.txt || { echo "FAIL: report --plots with the installed plots.py"; cat report.txt; exit 1; }
echo "PASS: installed under $tmp/prefix; the binary reads $share and runs from outside the source tree"
