#!/usr/bin/env bash
# The training-step benchmark: C++ (bench_train_step) and PyTorch eager (train_step_eager.py, Debian's
# python3-torch: the same LibTorch 1.13.1) in one run, on an otherwise idle machine.
#   apt-get install --no-install-recommends python3-torch   # once (scripts/setup-bench.sh)
#   bash bench/compare_train_step.sh [--build DIR] [--steps N] [--rounds R]
# This VM's step times vary +-15% from run to run, more than the difference measured, so the two
# implementations alternate for R rounds (default 3); each cell reports the median over rounds of each
# round's median step. Prints both per cell and the ratios the issue asks for: C++/eager images/s and
# GradSigns/plain step time. The C++ side trains as `signsweep train` does (memory_format auto:
# channels-last for plain steps, NCHW for GradSigns); eager is the plain NCHW code a researcher writes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
steps=10
rounds=3
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--steps N] [--rounds R]" >&2; exit 2 ;;
  esac
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  "$build/bench/bench_train_step" --steps "$steps" >>"$out"
  /usr/bin/python3 "$here/train_step_eager.py" --steps "$steps" >>"$out"
done
python3 - "$out" <<'PY'
import csv, sys
import statistics
runs = {}
for impl, model, threads, step, ms, ips in csv.reader(open(sys.argv[1])):
    runs.setdefault((impl, model, threads, step), []).append(float(ms))
rows = {k: (statistics.median(v), 128000.0 / statistics.median(v)) for k, v in runs.items()}
print(f"rounds per cell: {len(next(iter(runs.values())))}; batch 128 of 3x32x32")
print(f"{'model':10} {'thr':>3} {'step':10} {'c++ ms':>8} {'eager ms':>9} {'c++ img/s':>10} {'eager img/s':>12} {'c++/eager':>9} {'gs/plain (c++)':>15}")
for model in ("small-cnn", "resnet20"):
    for threads in ("1", "2"):
        for step in ("plain", "gradsigns"):
            c, e = rows[("c++", model, threads, step)], rows[("eager", model, threads, step)]
            ratio = rows[("c++", model, threads, "gradsigns")][0] / rows[("c++", model, threads, "plain")][0]
            print(f"{model:10} {threads:>3} {step:10} {c[0]:8.1f} {e[0]:9.1f} {c[1]:10.0f} {e[1]:12.0f} {c[1]/e[1]:9.2f}x"
                  + (f" {ratio:14.2f}x" if step == "gradsigns" else ""))
PY
