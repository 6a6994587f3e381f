#!/usr/bin/env bash
# Does monitoring slow training? The same MPI sweep (4 embed trials of a small-cnn on synthetic 1x28x28 data,
# 2 worker ranks) alternately with the exporter and progress messages (--metrics-port 0) and without, N rounds;
# prints each run's wall time and the mean training throughput of its trials (images/s, from the store).
#   bash bench/metrics_overhead.sh [rounds=3] [build dir=build]
set -euo pipefail
rounds=${1:-3}
build=${2:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/s.yaml" <<Y
name: overhead
base:
  dataset: {name: synthetic, channels: 1, height: 28, width: 28, classes: 10, train_size: 3000, test_size: 500}
  model: {name: small-cnn, width: 8}
  trainer: {epochs: 4, batch_size: 100, threads: 1, lr: 0.002}
  watermark: {bits: 16, carriers: 64, lambda: 0.3, verify: {images: 20, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1, 2, 3]}
Y
mean_ips() { "$build/signsweep" export "$1" --csv | python3 -c '
import csv, sys
rows = [r for r in csv.DictReader(sys.stdin) if r["kind"] == "embed"]
print(sum(float(r["images_per_second"]) for r in rows) / len(rows))'; }
for r in $(seq 1 "$rounds"); do
  for mode in with without; do
    extra=()
    [[ $mode == with ]] && extra=(--metrics-port 0)
    rm -rf "$tmp/store"
    start=$(date +%s.%N)
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np 3 "$build/signsweep" run "$tmp/s.yaml" --out "$tmp/store" \
      "${extra[@]}" >/dev/null 2>&1
    end=$(date +%s.%N)
    printf 'round %d %-8s wall %6.2f s  mean %7.1f images/s\n' "$r" "$mode" "$(echo "$end - $start" | bc)" "$(mean_ips "$tmp/store")"
  done
done
