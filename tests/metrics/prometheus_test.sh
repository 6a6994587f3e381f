#!/usr/bin/env bash
# The exporter against a real Prometheus server (Debian package `prometheus`) that finds its targets only
# through the runs' file_sd target files: two sweeps at once, one under mpirun -np 3 and one in one process,
# each with --metrics-port 0, scraped every 200 ms; Prometheus must hold both runs' series with the workers'
# figures in them, every PromQL expression of the shipped Grafana dashboard must return series over the MPI
# run, and once the runs end their target files and targets are gone. Also: a port in use and an invalid
# bind address exit 2 before anything trains. Usage: prometheus_test.sh <signsweep> <mpirun> <source dir>. Exit 77 = skipped.
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
pport=$(free_port)
mkdir -p "$tmp/targets"
cat >"$tmp/prometheus.yml" <<Y
global: {scrape_interval: 200ms, evaluation_interval: 1s}  # a trial here runs ~1.5 s: its gauges live that long
scrape_configs:
  - job_name: signsweep
    file_sd_configs: [{files: ["$tmp/targets/*.json", "$tmp/runs/prometheus-targets/*.json"], refresh_interval: 1s}]
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

# ---- two sweeps at once, found through their target files ----
sed 's/^name: metrics$/name: metrics-two/; s/trainer.seed: \[0, 1, 2, 3\]/trainer.seed: [0, 1]/' "$tmp/s.yaml" >"$tmp/s2.yaml"
start=$(date +%s)
# The second run writes its target file where it does by default: prometheus-targets/ beside its store.
"$bin" run "$tmp/s2.yaml" --out "$tmp/runs/store2" --metrics-port 0 --metrics-linger 3 >"$tmp/run2.log" 2>&1 &
second=$!
"$mpirun" --allow-run-as-root --oversubscribe -np 3 "$bin" run "$tmp/s.yaml" --out "$tmp/store" --metrics-port 0 \
  --metrics-targets "$tmp/targets" --metrics-linger 3 >"$tmp/run.log" 2>&1
rc=$?
wait $second
rc2=$?
end=$(date +%s)
[[ $rc -eq 0 ]] || { echo "FAIL: the MPI sweep exited $rc"; tail -20 "$tmp/run.log"; failed=$((failed + 1)); }
[[ $rc2 -eq 0 ]] || { echo "FAIL: the one-process sweep exited $rc2"; tail -20 "$tmp/run2.log"; failed=$((failed + 1)); }
grep -q "Prometheus target file $tmp/targets/signsweep-127.0.0.1-[0-9]*.json" "$tmp/run.log" ||
  { echo "FAIL: run.log names no target file in --metrics-targets"; failed=$((failed + 1)); }
grep -q "Prometheus target file $tmp/runs/prometheus-targets/signsweep-127.0.0.1-[0-9]*.json" "$tmp/run2.log" ||
  { echo "FAIL: run2.log names no target file beside its store"; failed=$((failed + 1)); }
echo "sweeps ran $((end - start)) s"
left=$(find "$tmp/targets" "$tmp/runs/prometheus-targets" -name '*.json' | wc -l)
[[ $left -eq 0 ]] || { echo "FAIL: $left target file(s) left after the runs ended"; failed=$((failed + 1)); }
python3 - "$src/dashboards/signsweep-sweep.json" "$pport" "$start" "$end" <<'P' || failed=$((failed + 1))
import json, sys, time, urllib.parse, urllib.request
dashboard, port, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
api = f"http://127.0.0.1:{port}/api/v1/"
def get(path, **params):
    return json.load(urllib.request.urlopen(api + path + "?" + urllib.parse.urlencode(params)))
def series(query, step="0.2"):
    r = get("query_range", query=query, start=start - 1, end=end + 1, step=step)  # as fine as the scrapes
    return r["data"]["result"] if r["status"] == "success" else []
bad = 0
# Both runs, found through their target files, with the workers' figures (step times come from the workers).
for sweep in ("metrics", "metrics-two"):
    found = series(f'signsweep_step_duration_seconds_count{{sweep="{sweep}"}}')
    stores = {s["metric"].get("store", "") for s in found}
    ok = bool(found) and all(st.endswith("/store" if sweep == "metrics" else "/store2") for st in stores)
    print(f"{'ok  ' if ok else 'FAIL'} sweep {sweep}: {len(found)} step-time series, store label {sorted(stores)}")
    bad += not ok
exprs = [t["expr"] for p in json.load(open(dashboard))["panels"] for t in p["targets"]]
for e in exprs:
    q = e.replace("$sweep", "metrics").replace("$group", ".*")
    n = len(series(q))
    print(f"{'ok  ' if n else 'FAIL'} {n:3d} series  {e}")
    bad += n == 0
print(f"{len(exprs)}/{len(exprs)} dashboard expressions checked")
# Once the target files are gone, Prometheus drops the targets (file_sd watches the folder).
for _ in range(100):
    active = get("targets", state="active")["data"]["activeTargets"]
    if not active:
        break
    time.sleep(0.1)
print(f"{'ok  ' if not active else 'FAIL'} {len(active)} active target(s) after the runs ended")
bad += bool(active)
sys.exit(1 if bad else 0)
P
# The shipped configuration is valid and reads the default folder of runs under runs/.
promtool check config "$src/dashboards/prometheus.yml" >"$tmp/promtool.log" 2>&1 &&
  grep -q 'files: \["../runs/prometheus-targets/\*.json"\]' "$src/dashboards/prometheus.yml" ||
  { echo "FAIL: promtool on dashboards/prometheus.yml"; cat "$tmp/promtool.log"; failed=$((failed + 1)); }
echo "$failed failed"
[[ $failed -eq 0 ]]
