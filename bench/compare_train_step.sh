#!/usr/bin/env bash
# The training-step benchmark: C++ (bench_train_step) beside PyTorch eager (train_step_eager.py) from the
# same LibTorch line, alternating in one run, on an otherwise idle machine.
#   bash bench/compare_train_step.sh [--torch2] [--build DIR] [--python PY] [--steps N] [--rounds R]
#                                    [--device D] [--batch B] [--threads T]
# Lines: default build/ (Debian's LibTorch 1.13) against /usr/bin/python3 (Debian's python3-torch 1.13,
# scripts/setup-bench.sh); --torch2: build-torch2/ against the venv of scripts/setup-torch2.sh (2.11).
# This VM's step times vary +-15% from run to run, more than the differences measured, so the two
# implementations alternate for R rounds (default 3); each cell reports the median over rounds of each
# round's median step. Prints both per cell and the ratios: C++/eager images/s and GradSigns/plain step
# time. The C++ side trains as `signsweep train` does (memory_format auto: channels-last, NCHW for GradSigns
# steps only with SIGNSWEEP_FUSED_DOUBLE_BACKWARD=0); eager is the plain NCHW code a researcher writes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
python=/usr/bin/python3
steps=10
rounds=3
cell_args=()
batch=128
while (($#)); do
  case $1 in
    --torch2) build=$here/../build-torch2; python=${SIGNSWEEP_TORCH2_VENV:-/opt/signsweep/torch2}/bin/python; shift ;;
    --build) build=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; cell_args+=(--batch "$2"); shift 2 ;;
    --device | --threads | --model) cell_args+=("$1" "$2"); shift 2 ;;
    *) echo "usage: $0 [--torch2] [--build DIR] [--python PY] [--steps N] [--rounds R] [--device D] [--batch B] [--threads T] [--model M]" >&2; exit 2 ;;
  esac
done
cpp_torch=$("$build/signsweep" --version | awk '/libtorch/ {print $2; exit}')
py_torch=$("$python" -c 'import torch; print(torch.__version__)')
echo "c++: $build (libtorch $cpp_torch); eager: $python (torch $py_torch)"
[[ ${py_torch%%+*} == "${cpp_torch%%+*}"* || ${cpp_torch%%+*} == "${py_torch%%+*}"* ]] ||
  echo "WARNING: the two sides are different LibTorch versions" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  "$build/bench/bench_train_step" --steps "$steps" "${cell_args[@]}" >>"$out"
  "$python" "$here/train_step_eager.py" --steps "$steps" "${cell_args[@]}" >>"$out"
done
/usr/bin/python3 - "$out" "$batch" <<'PY'
import csv, statistics, sys
runs = {}
for impl, model, threads, step, ms, ips in csv.reader(open(sys.argv[1])):
    runs.setdefault((impl, model, threads, step), []).append(float(ms))
batch = int(sys.argv[2])
rows = {k: (statistics.median(v), 1000.0 * batch / statistics.median(v)) for k, v in runs.items()}
print(f"rounds per cell: {len(next(iter(runs.values())))}; batch {batch} of 3x32x32")
print(f"{'model':10} {'thr':>3} {'step':10} {'c++ ms':>8} {'eager ms':>9} {'c++ img/s':>10} {'eager img/s':>12} {'c++/eager':>9} {'gs/plain (c++)':>15}")
for model in ("small-cnn", "resnet20"):
    for threads in ("1", "2"):
        for step in ("plain", "gradsigns"):
            if ("c++", model, threads, step) not in rows:
                continue
            c, e = rows[("c++", model, threads, step)], rows[("eager", model, threads, step)]
            ratio = rows[("c++", model, threads, "gradsigns")][0] / rows[("c++", model, threads, "plain")][0]
            print(f"{model:10} {threads:>3} {step:10} {c[0]:8.1f} {e[0]:9.1f} {c[1]:10.0f} {e[1]:12.0f} {c[1]/e[1]:9.2f}x"
                  + (f" {ratio:14.2f}x" if step == "gradsigns" else ""))
PY
