#!/usr/bin/env bash
# How a sweep's cost grows with its trials (docs/benchmarks.md, "Sweeps of 10^5 trials"), by hand. For each
# size: a generated Fashion-MNIST sweep (one model per seed, 11 cheap attacks of each: 12 trials per seed),
# run with bench_sweep over 1,024 simulated worker groups (mean trial 10 ms, so rank 0 is the bottleneck and
# its cost per trial shows) until half its trials are done, resumed once to time the first task after a
# restart, run to the end, then `signsweep status` and `signsweep report` of the finished store.
# Writes bench/results/scale.csv (one row per size) and prints it; bench/scale_figure.py draws it.
#   bash bench/scale_sweep.sh [sizes in seeds, default "84 834 2500 8333"] [work dir, default /tmp/signsweep-scale]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds_list=${1:-84 834 2500 8333}
work=${2:-/tmp/signsweep-scale}
bench=$PWD/build/bench/bench_sweep
bin=$PWD/build/signsweep
mkdir -p "$work" bench/results
csv=bench/results/scale.csv
echo "trials,expansion_s,first_run_store_s,resume_first_task_s,resume_store_s,rank0_cpu_us_per_trial,peak_rss_mib,store_mib,status_s,report_s" > "$csv"
field() { sed -n "s/$2/\1/p" "$1" | head -1; }
for seeds in $seeds_list; do
  yaml=$work/scale-$seeds.yaml
  store=$work/store-$seeds
  rm -rf "$store"
  /usr/bin/python3 - "$seeds" > "$yaml" <<'PY'
import sys
n = int(sys.argv[1])
print(f"""name: scale-{n}
base:
  dataset: {{name: fashion-mnist, normalization: per-pixel-mean}}
  model: {{name: small-cnn, width: 16}}
  trainer: {{optimizer: adam, lr: 0.002, epochs: 1, steps_per_epoch: 10, batch_size: 100}}
  watermark: {{scheme: gradsigns, bits: 32, carriers: 256, lambda: 0.3, target_class: 0, target_per_batch: 10}}
grid:
  trainer.seed: {list(range(n))}
attacks:
  - {{attack: quantize, variant: weights, grid: {{bits: [8, 7, 6, 5, 4, 3, 2]}}}}
  - {{attack: noise, trials: 1, grid: {{sigma: [0.01, 0.02, 0.05, 0.1]}}}}""")
PY
  "$bench" "$yaml" "$store" 1024 10 0.5 2>/dev/null > "$work/half-$seeds.txt"
  "$bench" "$yaml" "$store" 1024 10 0.000001 2>/dev/null > "$work/resume-$seeds.txt"
  "$bench" "$yaml" "$store" 1024 10 1 2>/dev/null > "$work/rest-$seeds.txt"
  seconds_of() { local t0; t0=$(date +%s%N); "$@" > /dev/null; local ms=$(( ($(date +%s%N) - t0) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
  status_s=$(seconds_of "$bin" status "$store")
  report_s=$(seconds_of "$bin" report "$store")
  h=$work/half-$seeds.txt r=$work/resume-$seeds.txt e=$work/rest-$seeds.txt
  trials=$(field "$h" '^sweep .*: \([0-9]*\) trials.*')
  expansion=$(field "$r" '^expansion \([0-9.]*\) s.*')
  first_store=$(field "$h" '.*opened and read in \([0-9.]*\) s.*')
  resume_first=$(field "$r" '^first task sent \([0-9.]*\) s.*')
  resume_store=$(field "$r" '.*opened and read in \([0-9.]*\) s.*')
  cpu_h=$(field "$h" '.*(\([0-9.]*\) us per trial sent).*')
  rss=$(for f in "$h" "$r" "$e"; do field "$f" '.*peak RSS \([0-9.]*\) MiB$'; done | sort -g | tail -1)
  store_mib=$(field "$e" '^store \([0-9.]*\) MiB.*')
  echo "$trials,$expansion,$first_store,$resume_first,$resume_store,$cpu_h,$rss,$store_mib,$status_s,$report_s" >> "$csv"
  tail -1 "$csv"
done
cat "$csv"
