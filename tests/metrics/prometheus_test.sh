#!/usr/bin/env bash
# The exporter against a real Prometheus server (Debian package `prometheus`): a small MPI sweep with
# --metrics-port, scraped every second; then every PromQL expression of the shipped Grafana dashboard must
# return at least one series over the run. Also: a port in use and an invalid bind address exit 2 before
# anything trains. Usage: prometheus_test.sh <signsweep> <mpirun> <source dir>. Exit 77 = skipped.
set -uo pipefail
bin=$1
mpirun=$2
src=$3
if ! command -v prometheus >/dev/null; then
  echo "SKIP: the prometheus binary is missing (scripts/setup.sh installs the Debian package 'prometheus')"
  exit 77
fi
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mport=$(free_port)
pport=$(free_port)
cat >"$tmp/prometheus.yml" <<Y
global: {scrape_interval: 200ms, evaluation_interval: 1s}  # a trial here runs ~1.5 s: its gauges live that long
scrape_configs:
  - job_name: signsweep
    static_configs: [{targets: ["127.0.0.1:$mport"]}]
Y
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$pport" \
  >"$tmp/prometheus.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null || { echo "FAIL: prometheus did not start"; cat "$tmp/prometheus.log"; exit 1; }

failed=0
# ---- bad input: exit 2 before training ----
cat >"$tmp/s.yaml" <<Y
name: metrics
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4, batch_norm: false}
  trainer: {epochs: 60, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1, 2, 3]}
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
  - {attack: prune, epochs: 1, images_per_class: 20, rate: 0.5}
Y
"$bin" run "$tmp/s.yaml" --out "$tmp/busy" --metrics-port "$pport" >"$tmp/busy.log" 2>&1
rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "127.0.0.1:$pport: cannot serve metrics there" "$tmp/busy.log" || [[ -e $tmp/busy ]]; then
  echo "FAIL port in use: exit $rc"; cat "$tmp/busy.log"; failed=$((failed + 1))
fi
"$bin" run "$tmp/s.yaml" --out "$tmp/bad" --metrics-port 0 --metrics-bind 999.1.2.3 >"$tmp/bad.log" 2>&1
rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "metrics-bind 999.1.2.3: not an IPv4 or IPv6 address" "$tmp/bad.log" || [[ -e $tmp/bad ]]; then
  echo "FAIL invalid bind address: exit $rc"; cat "$tmp/bad.log"; failed=$((failed + 1))
fi

# ---- a sweep scraped by Prometheus ----
start=$(date +%s)
"$mpirun" --allow-run-as-root --oversubscribe -np 3 "$bin" run "$tmp/s.yaml" --out "$tmp/store" --metrics-port "$mport" \
  --metrics-linger 3 >"$tmp/run.log" 2>&1
rc=$?
end=$(date +%s)
[[ $rc -eq 0 ]] || { echo "FAIL: the sweep exited $rc"; tail -20 "$tmp/run.log"; failed=$((failed + 1)); }
echo "sweep ran $((end - start)) s"
python3 - "$src/dashboards/signsweep-sweep.json" "$pport" "$start" "$end" <<'P' || failed=$((failed + 1))
import json, sys, urllib.parse, urllib.request
dashboard, port, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
exprs = [t["expr"] for p in json.load(open(dashboard))["panels"] for t in p["targets"]]
bad = 0
for e in exprs:
    q = e.replace("$sweep", ".*").replace("$group", ".*")
    url = f"http://127.0.0.1:{port}/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": start - 1, "end": end + 1, "step": "0.2"})  # as fine as the scrapes
    r = json.load(urllib.request.urlopen(url))
    n = len(r["data"]["result"]) if r["status"] == "success" else 0
    print(f"{'ok  ' if n else 'FAIL'} {n:3d} series  {e}")
    bad += n == 0
print(f"{len(exprs) - bad}/{len(exprs)} dashboard expressions return series")
sys.exit(1 if bad else 0)
P
echo "$failed failed"
[[ $failed -eq 0 ]]
