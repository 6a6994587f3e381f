#!/usr/bin/env bash
# The quickstart sweep three ways on this machine, one after another (nothing else should run): in one process,
# under `mpirun --oversubscribe -np 3 --bind-to none` (2 workers) and under the README's
# `mpirun --oversubscribe -np 5` (4 workers), each into a fresh store, with threads: 0 (every rank's fair share).
# Prints each launch's wall time, its ratio to the one-process run and the embed trials' median img/s.
# By hand (docs/benchmarks.md), about 20 minutes on the 2-core VM. Usage: bench/quickstart_launches.sh [signsweep]
set -euo pipefail
bin=$(realpath "${1:-build/signsweep}")
sweep=$(realpath experiments/quickstart-sweep.yaml)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch() {  # launch <name> <command...>: wall time in seconds, the log in $tmp/<name>.log
  local name=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$@" run "$sweep" --out "$tmp/$name" >"$tmp/$name.log" 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }'
}
median_img_s() {  # the median of the epoch lines' img/s in a log
  grep -o '| [0-9]* img/s' "$1" | awk '{print $2}' | sort -n | awk '{v[NR] = $1} END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
}
one=$(launch one "$bin")
three=$(launch np3 mpirun --oversubscribe -np 3 --bind-to none "$bin")
five=$(launch np5 mpirun --oversubscribe -np 5 "$bin")
printf '%-48s %8s %8s %10s\n' launch wall_s ratio img_s_each
printf '%-48s %8s %8s %10s\n' "one process" "$one" 1.00 "$(median_img_s "$tmp/one.log")"
printf '%-48s %8s %8.2f %10s\n' "mpirun --oversubscribe -np 3 --bind-to none" "$three" "$(echo "$three / $one" | bc -l)" "$(median_img_s "$tmp/np3.log")"
printf '%-48s %8s %8.2f %10s\n' "mpirun --oversubscribe -np 5" "$five" "$(echo "$five / $one" | bc -l)" "$(median_img_s "$tmp/np5.log")"
grep -h '^done\|^failed' "$tmp"/one.log "$tmp"/np3.log "$tmp"/np5.log | paste -sd' '
