#!/usr/bin/env bash
# CLI tests against the real binary: help texts, --version, exit codes (0 ok / 2 bad input) and that
# every error message names the file, key or value at fault; a sweep store read back with h5py (Debian's
# python3-h5py, hence /usr/bin/python3). Usage: cli_test.sh <signsweep> <source dir>
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect <name> <exit code> <regex the combined output must match> -- command...
expect() {
  local name=$1 code=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq $code ]] && grep -Eq -- "$pattern" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $code), output must match /$pattern/:"
    sed 's/^/    /' <<<"$out" | head -20
  fi
}

expect help 0 "Subcommands:" -- "$bin" --help
for sub in train verify attack run status report export data list import; do
  expect "help-$sub" 0 "Usage: .*$sub" -- "$bin" "$sub" --help
done
expect version 0 "signsweep [0-9.]+ \(git [0-9a-f]{7,}|unknown" -- "$bin" --version
expect version-libs 0 "libtorch 1\.|libtorch 2\." -- "$bin" --version
expect no-subcommand 2 "subcommand" -- "$bin"
expect unknown-option 2 "--bogus" -- "$bin" train --bogus x.yaml
expect list 0 "fashion-mnist" -- "$bin" list
# The set-up as a user who is not root: with every package present it passes without installing anything.
if [[ $(id -u) -eq 0 ]]; then
  expect setup-without-root 0 "setup.sh: all [0-9]+ packages present" -- runuser -u nobody -- bash "$src/scripts/setup.sh"
fi
# Global options before or after the subcommand; the exit codes in every --help.
expect global-option-after-subcommand 0 "fashion-mnist" -- "$bin" list --log-level debug
expect global-option-before-subcommand 0 "fashion-mnist" -- "$bin" --log-level debug list
expect bad-global-option-after-subcommand 2 "--log-level = 'loud'" -- "$bin" list --log-level loud
expect help-exit-codes 0 "Exit codes: 0 ok; 1 .*; 2 bad input .*; 75 \(run\) interrupted" -- "$bin" --help
expect help-run-exit-codes 0 "Exit codes: 0 ok" -- "$bin" run --help
cat >"$tmp/badpath.yaml" <<'Y'
dataset:
  name: cifar10
  path: /no/such/cifar
model:
  name: small-cnn
Y
expect bad-dataset-path 2 "/no/such/cifar: cifar10 directory not found" -- "$bin" train "$tmp/badpath.yaml"
expect bad-dataset-path-data 2 "/no/such/cifar" -- "$bin" data "$tmp/badpath.yaml"
expect missing-config 2 "$tmp/none.yaml: cannot open config file" -- "$bin" train "$tmp/none.yaml"

cat >"$tmp/badkey.yaml" <<'Y'
dataset:
  name: synthetic
model:
  name: small-cnn
trainer:
  epochs: 1
  learning_rate: 0.1
Y
expect unknown-key 2 "badkey.yaml:7:3: unknown key 'trainer.learning_rate'" -- "$bin" train "$tmp/badkey.yaml"

cat >"$tmp/badvalue.yaml" <<'Y'
dataset:
  name: synthetic
model:
  name: small-cnn
trainer:
  batch_size: -4
Y
expect bad-value 2 "badvalue.yaml:6:15: trainer.batch_size = '-4': must be >= 1" -- "$bin" train "$tmp/badvalue.yaml"

mkdir -p "$tmp/idx"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  printf 'garbage' >"$tmp/idx/$f"
done
cat >"$tmp/badfile.yaml" <<Y
dataset:
  name: mnist
  path: $tmp/idx
model:
  name: small-cnn
Y
expect truncated-file 2 "train-images-idx3-ubyte: wrong magic number" -- "$bin" train "$tmp/badfile.yaml"

cat >"$tmp/tiny.yaml" <<'Y'
dataset:
  name: synthetic
  channels: 1
  height: 8
  width: 8
  classes: 3
  train_size: 300
model:
  name: small-cnn
  width: 8
  batch_norm: false
trainer:
  epochs: 2
  batch_size: 30
  lr: 0.005
  threads: 1
Y
expect train-synthetic 0 "test_accuracy (0\.[89]|1\.0)" -- "$bin" train "$tmp/tiny.yaml" --out "$tmp/tiny.h5"
expect data-fashion 0 "train +60000 images" -- "$bin" data "$src/experiments/quickstart.yaml"

# ---- GradSigns: bad watermark settings, verify ----
write_wm() {  # write_wm <file> <watermark mapping>
  cat >"$1" <<Y
dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
model: {name: small-cnn, width: 4, batch_norm: false}
trainer: {epochs: 1, batch_size: 30, threads: 1}
watermark: $2
Y
}
write_wm "$tmp/lam.yaml" "{bits: 8, carriers: 6, lambda: -0.5}"
expect lambda-negative 2 "lam.yaml:4:[0-9]+: watermark.lambda = '-0.5': must be >= 0" -- "$bin" train "$tmp/lam.yaml" --out "$tmp/x.h5"
write_wm "$tmp/bits.yaml" "{bits: 0, carriers: 6}"
expect bits-zero 2 "watermark.bits = '0': must be in \\[1, 4096\\]" -- "$bin" train "$tmp/bits.yaml" --out "$tmp/x.h5"
write_wm "$tmp/carriers.yaml" "{bits: 8, carriers: 65}"
expect carriers-too-many 2 "carriers.yaml: watermark.carriers = 65: must be in \\[1, 64\\]" -- "$bin" train "$tmp/carriers.yaml" --out "$tmp/x.h5"
write_wm "$tmp/target.yaml" "{bits: 8, carriers: 6, target_class: 3}"
expect target-out-of-range 2 "target.yaml: watermark.target_class = 3: must be in \\[0, 3\\)" -- "$bin" train "$tmp/target.yaml" --out "$tmp/x.h5"
[[ ! -e $tmp/x.h5 ]] || { failed=$((failed + 1)); echo "FAIL: a rejected config left a checkpoint"; }

write_wm "$tmp/ok.yaml" "{bits: 8, carriers: 6, lambda: 1.0, verify: {images: 20, repeats: 2, remote_images: 10, h: [0.001]}}"
expect train-watermarked 0 "ber_white_box [01]\\.[0-9]+" -- "$bin" train "$tmp/ok.yaml" --out "$tmp/ok.h5"

# ---- devices (workers/device/device.h); this machine has no GPU unless --version says so ----
gpus=$("$bin" --version | sed -n 's/^gpus \([0-9]*\).*/\1/p')
expect version-gpus 0 "^gpus [0-9]+ \\(visible to LibTorch\\)" -- "$bin" --version
sed 's/threads: 1}/threads: 1, device: gpu0}/' "$tmp/ok.yaml" >"$tmp/dev-bad.yaml"
expect device-misspelt 2 "dev-bad.yaml:3:[0-9]+: trainer.device = 'gpu0': must be auto, cpu, cuda or cuda:N" -- "$bin" train "$tmp/dev-bad.yaml" --out "$tmp/x.h5"
sed 's/threads: 1}/threads: 1, device: cpu}/' "$tmp/ok.yaml" >"$tmp/dev-cpu.yaml"
expect device-cpu 0 "device cpu" -- "$bin" train "$tmp/dev-cpu.yaml" --out "$tmp/dev-cpu.h5"
expect attack-device-misspelt 2 "--device: must be auto, cpu, cuda or cuda:N" -- "$bin" attack "$tmp/ok.h5" --attack quantize --device tpu
if [[ ${gpus:-0} -eq 0 ]]; then
  sed 's/threads: 1}/threads: 1, device: cuda}/' "$tmp/ok.yaml" >"$tmp/dev-cuda.yaml"
  expect device-cuda-without-gpu 2 "dev-cuda.yaml: trainer.device = 'cuda': no GPU is visible on host" -- "$bin" train "$tmp/dev-cuda.yaml" --out "$tmp/x.h5"
  expect attack-cuda-without-gpu 2 "--device = 'cuda:0': no GPU is visible on host" -- "$bin" attack "$tmp/ok.h5" --attack quantize --device cuda:0
fi
expect verify-white-box 0 "matched_bits [0-9]+" -- "$bin" verify "$tmp/ok.h5"
# The log is coloured only on a terminal and never under NO_COLOR (script(1) gives the command a terminal).
expect colour-on-a-terminal 0 $'\x1b\\[[0-9;]*m' -- script -qec "$bin verify $tmp/ok.h5 --images 5 --repeats 1" /dev/null
expect no-colour-under-NO_COLOR 0 "^0 escapes" -- bash -c 'echo "$(NO_COLOR=1 script -qec "$1 verify $2 --images 5 --repeats 1" /dev/null | grep -c $'"'"'\x1b\\['"'"') escapes"' _ "$bin" "$tmp/ok.h5"
expect no-colour-off-a-terminal 0 "^0 escapes" -- bash -c 'echo "$("$1" verify "$2" --images 5 --repeats 1 2>&1 | grep -c $'"'"'\x1b\\['"'"') escapes"' _ "$bin" "$tmp/ok.h5"
expect verify-remote 0 "ber_remote h=0.001 [01]\\.[0-9]+ \\(70 queries\\)" -- "$bin" verify "$tmp/ok.h5" --remote --images 10
expect verify-missing 2 "nothing.h5" -- "$bin" verify "$tmp/nothing.h5"
printf 'not hdf5' >"$tmp/junk.h5"
expect verify-not-hdf5 2 "junk.h5: corrupt, or not an HDF5 file" -- "$bin" verify "$tmp/junk.h5"
# A Keras file that crashes HDF5 1.10.8 itself (fuzz/known/): read in a child process, its death is exit 2, not ours.
known=$src/fuzz/known/hdf5-1.10.8
expect verify-keras-hdf5-fault 2 "keras_hdf5-H5HG_read-memcpy-overlap: the process reading it (died of SIG[A-Z]+|exited with status [0-9]+ without a report)" -- "$bin" verify --keras "$known/keras_hdf5-H5HG_read-memcpy-overlap" --keys "$tmp" --data "$tmp"
expect verify-bad-h 2 "--h" -- "$bin" verify "$tmp/ok.h5" --remote --h -1
expect verify-plain-model 2 "tiny.h5: the checkpoint carries no watermark" -- "$bin" verify "$tmp/tiny.h5"

# ---- empirical threshold from non-watermarked models ----
for seed in 1 2; do
  cat >"$tmp/null$seed.yaml" <<Y
dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
model: {name: small-cnn, width: 4, batch_norm: false}
trainer: {epochs: 1, batch_size: 30, threads: 1, seed: $seed}
Y
  expect "train-null$seed" 0 "test_accuracy" -- "$bin" train "$tmp/null$seed.yaml" --out "$tmp/null$seed.h5"
done
expect verify-empirical 0 "empirical_threshold [01]\\.[0-9]+ \\(lowest BER of 2 non-watermarked models, mean [0-9.]+; fewer than the ~30 that make a threshold meaningful\\)" -- "$bin" verify "$tmp/ok.h5" --null-model "$tmp/null1.h5" --null-model "$tmp/null2.h5"
expect verify-null-false-positives 0 "^null_false_positive_rate (0|1)\\.[0-9]+ \\(([0-2]) of 2 null models judged owned at significance [0-9.e-]+; 95% Clopper-Pearson \\[[0-9.e-]+, [0-9.e-]+\\]\\)" -- "$bin" verify "$tmp/ok.h5" --null-model "$tmp/null1.h5" --null-model "$tmp/null2.h5"
expect verify-watermarked-null-refused 2 "ok.h5: this checkpoint carries a watermark \\(gradsigns, 8 bits\\): a null model must be trained without one" -- "$bin" verify "$tmp/ok.h5" --null-model "$tmp/ok.h5"
expect verify-watermarked-null-forced 0 "lowest BER of 1 non-watermarked" -- "$bin" verify "$tmp/ok.h5" --null-model "$tmp/ok.h5" --allow-watermarked-null

# ---- attacks ----
expect attack-help 0 "Usage: .*attack" -- "$bin" attack --help
expect attack-quantize 0 "ber_white_box_after [01]\\.[0-9]+" -- "$bin" attack "$tmp/ok.h5" --attack quantize --set bits=8
expect attack-prune-out 0 "zero_kernel_weights_after [0-9]+" -- "$bin" attack "$tmp/ok.h5" --attack prune --set rate=0.5 --set epochs=1 --set images_per_class=20 --out "$tmp/pruned.h5"
expect attack-output-verifies 0 "matched_bits [0-9]+" -- "$bin" verify "$tmp/pruned.h5"
expect attack-unknown 2 "attack = 'melt'" -- "$bin" attack "$tmp/ok.h5" --attack melt
expect attack-rate 2 "rate = '1.5': must be in \\[0, 1\\)" -- "$bin" attack "$tmp/ok.h5" --attack prune --set rate=1.5
expect attack-bits 2 "bits = '1': must be in \\[2, 32\\]" -- "$bin" attack "$tmp/ok.h5" --attack quantize --set bits=1
expect attack-foreign-key 2 "unknown key 'sigma'" -- "$bin" attack "$tmp/ok.h5" --attack quantize --set sigma=0.1
expect attack-budget 2 "images_per_class = 5000 is more than the training set holds" -- "$bin" attack "$tmp/ok.h5" --attack ftal --set images_per_class=5000
expect attack-plain-model 2 "tiny.h5: the checkpoint carries no watermark" -- "$bin" attack "$tmp/tiny.h5" --attack quantize
expect attack-not-hdf5 2 "junk.h5: corrupt, or not an HDF5 file" -- "$bin" attack "$tmp/junk.h5" --attack quantize

# ---- every shipped sweep validates (strict parse of every trial, no training) ----
# Run from an empty folder: data sets and checkpoints the sweeps name by relative paths (data/..., runs/...)
# are absent, which makes warnings (their trials would fail when they run), not errors.
sweeps=0
while IFS= read -r f; do
  grep -q '^name:' "$f" || continue  # trial configs (signsweep train) are not sweeps
  sweeps=$((sweeps + 1))
  expect "dry-run-${f#"$src"/experiments/}" 0 "[0-9]+ trials: [0-9]+ embed" -- bash -c 'cd "$1" && "$2" run "$3" --dry-run' _ "$tmp" "$bin" "$f"
done < <(find "$src/experiments" -name '*.yaml' | sort)
if ((sweeps >= 18)); then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: only $sweeps sweeps found under experiments/"; fi
expect dry-run-user-data-warned 0 "data/ytf: directory not found" -- bash -c 'cd "$1" && "$2" run "$3" --dry-run' _ "$tmp" "$bin" "$src/experiments/ytf/robustness.yaml"
expect dry-run-checkpoint-warned 0 "runs/released-model.h5 not found here.*39 attacks, 1 given checkpoints" -- bash -c 'cd "$1" && "$2" run "$3" --dry-run 2>&1 | tr "\n" " "' _ "$tmp" "$bin" "$src/experiments/released-model/attacks.yaml"

# ---- sweeps: run, resume, refusal, failures, status / report / export ----
write_sweep() {  # write_sweep <file> <grid mapping> [extra top-level line]
  cat >"$1" <<Y
name: tiny
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 1, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: $2
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
  - {attack: prune, epochs: 1, images_per_class: 20, grid: {rate: [0.3]}}
${3:-}
Y
}
write_sweep "$tmp/sweep.yaml" "{watermark.bits: [4, 8], trainer.seed: [0, 1]}"
expect sweep-dry-run 0 "16 trials: 4 embed, 12 attacks" -- "$bin" run "$tmp/sweep.yaml" --dry-run
sed 's/threads: 1, lr: 0.01}/threads: 1, lr: 0.01, device: cpu}/' "$tmp/sweep.yaml" >"$tmp/sweep-trainer-device.yaml"
expect sweep-trainer-device-refused 2 "trainer.device is a setting of the run in a sweep.*top-level key device:" -- "$bin" run "$tmp/sweep-trainer-device.yaml" --dry-run
write_sweep "$tmp/sweep-bad-device.yaml" "{trainer.seed: [0]}" "device: cuda:x"
expect sweep-device-misspelt 2 "sweep-bad-device.yaml:[0-9]+:[0-9]+: device = 'cuda:x': must be auto, cpu, cuda or cuda:N" -- "$bin" run "$tmp/sweep-bad-device.yaml" --dry-run
write_sweep "$tmp/sweep-lost-after.yaml" "{trainer.seed: [0]}" "lost_after: 5"
expect sweep-lost-after-too-short 2 "sweep-lost-after.yaml:[0-9]+:[0-9]+: lost_after = '5': must be 0 \\(never\\) or >= 10 seconds" -- "$bin" run "$tmp/sweep-lost-after.yaml" --dry-run
expect sweep-print-config 0 "watermark:" -- "$bin" run "$tmp/sweep.yaml" --print-config
# An attack without a seed of its own takes its model's trainer.seed: 2 models of seed 1 x 3 attacks.
expect attack-seed-follows-the-models-seed 0 "^6$" -- bash -c '"$1" run "$2" --print-config 2>/dev/null | grep -c "^seed: 1$"' _ "$bin" "$tmp/sweep.yaml"
write_sweep "$tmp/sweep-margin.yaml" "{trainer.seed: [0]}" "removal_margin: 1.5"
expect sweep-removal-margin-out-of-range 2 "sweep-margin.yaml:[0-9]+:[0-9]+: removal_margin = '1.5': must be in \(0, 1\)" -- "$bin" run "$tmp/sweep-margin.yaml" --dry-run
[[ ! -e $tmp/store ]] || { failed=$((failed + 1)); echo "FAIL: --dry-run created a store"; }
expect sweep-run 0 "done 16" -- "$bin" run "$tmp/sweep.yaml" --out "$tmp/store"
expect sweep-read-by-h5py 0 "h5py read 4 embed trials \\([0-9]+ epochs each\\) and 12 attacks" -- /usr/bin/python3 "$src/tests/cli/read_store.py" "$tmp/store"
expect sweep-resume 0 "ran 0" -- "$bin" run "$tmp/sweep.yaml" --out "$tmp/store"
expect sweep-status 0 "done +16" -- "$bin" status "$tmp/store"
expect sweep-status-watch-ends 0 "done +16" -- timeout 20 "$bin" status "$tmp/store" --watch 1
expect sweep-report 0 "\\| 8 \\| 2 \\| " -- "$bin" report "$tmp/store"
expect sweep-report-attacks 0 "prune" -- "$bin" report "$tmp/store" --table attacks --format csv
expect sweep-export 0 "^id,kind,label,parent,state" -- "$bin" export "$tmp/store" --csv
# Every exported number reads back as the double the store holds, written in its shortest such form.
expect export-shortest-round-trip 0 "^[0-9]+ values equal the store's, each in its shortest form$" -- /usr/bin/python3 - "$bin" "$tmp/store" <<'PY'
import csv, io, subprocess, sys, h5py
binary, store = sys.argv[1:3]
rows = list(csv.DictReader(io.StringIO(subprocess.run([binary, "export", store, "--csv"], check=True,
                                                      capture_output=True, text=True).stdout)))
n = 0
with h5py.File(store + "/sweep.h5", "r") as f:
    for r in rows:
        stored = {k: float(v) for k, v in f["trials"][r["id"]]["results"].attrs.items()}
        for k, v in stored.items():
            assert float(r[k]) == v, (r["id"], k, r[k], v)
            assert len(r[k]) <= len(repr(v)), (k, r[k], repr(v))  # Python's repr is the shortest round trip
            n += 1
assert n > 0
print(f"{n} values equal the store's, each in its shortest form")
PY
expect export-series 0 "^4 trials x 1 epoch: every series value equals the store's$" -- /usr/bin/python3 - "$bin" "$tmp/store" <<'PY'
import csv, io, subprocess, sys, h5py
binary, store = sys.argv[1:3]
rows = list(csv.DictReader(io.StringIO(subprocess.run([binary, "export", store, "--csv", "--series"], check=True,
                                                      capture_output=True, text=True).stdout)))
with h5py.File(store + "/sweep.h5", "r") as f:
    for r in rows:
        series = f["trials"][r["id"]]["series"]
        for name in series.dtype.names:
            assert float(r[name]) == float(series[name][int(r["epoch"]) - 1]), (r["id"], name)
trials, epochs = len({r["id"] for r in rows}), {r["epoch"] for r in rows}
print(f"{trials} trials x {len(epochs)} epoch: every series value equals the store's")
PY
expect sweep-report-unknown-table 2 "--table nope: unknown table" -- "$bin" report "$tmp/store" --table nope
expect sweep-status-not-a-store 2 "no results store here" -- "$bin" status "$tmp"
# A store whose index asks HDF5 1.10.8 for a 4 GiB string (fuzz/known/): status, report and export read it in a
# child process, which refuses it (exit 2) naming the file.
cp -r "$tmp/store" "$tmp/crafted" && cp "$known/store_index-H5T__conv_vlen-4GiB" "$tmp/crafted/sweep.h5"
expect crafted-store-status 2 "$tmp/crafted/sweep.h5" -- "$bin" status "$tmp/crafted"
expect crafted-store-report 2 "$tmp/crafted/sweep.h5" -- "$bin" report "$tmp/crafted"
expect crafted-store-export 2 "$tmp/crafted/sweep.h5" -- "$bin" export "$tmp/crafted" --csv
write_sweep "$tmp/sweep2.yaml" "{watermark.bits: [4, 16], trainer.seed: [0, 1]}"
expect sweep-other-refused 2 "belongs to sweep .*sweep.yaml.*--extend" -- "$bin" run "$tmp/sweep2.yaml" --out "$tmp/store"
expect sweep-extend 0 "skipped_done 8" -- "$bin" run "$tmp/sweep2.yaml" --out "$tmp/store" --extend
write_sweep "$tmp/empty.yaml" "{watermark.bits: []}"
expect sweep-empty-axis 2 "empty.yaml:[0-9]+:[0-9]+: grid.watermark.bits.*non-empty list" -- "$bin" run "$tmp/empty.yaml" --dry-run
write_sweep "$tmp/badkey.yaml" "{watermark.bitz: [4]}"
expect sweep-unknown-grid-key 2 "badkey.yaml:[0-9]+:[0-9]+: grid axis watermark.bitz: unknown key 'watermark.bitz' \\(grid point watermark.bitz=4\\)" -- "$bin" run "$tmp/badkey.yaml" --dry-run
write_sweep "$tmp/dup.yaml" "{watermark.bits: [4]}" "max_retries: -1"
expect sweep-bad-retries 2 "dup.yaml:[0-9]+:[0-9]+: max_retries = '-1'" -- "$bin" run "$tmp/dup.yaml" --dry-run
# A grid point that passes validation and fails when it runs (its data is not there): recorded failed.
write_sweep "$tmp/fail.yaml" "{dataset: [{name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}, {name: cifar10, path: /no/such/cifar}]}"
expect sweep-one-trial-fails 1 "failed 1" -- "$bin" run "$tmp/fail.yaml" --out "$tmp/failstore"
expect sweep-failure-listed 0 "failed +[0-9a-f]{16} \\[embed\\] dataset=.*cifar10 directory not found" -- "$bin" status "$tmp/failstore"
expect sweep-failed-not-retried 1 "ran 0" -- "$bin" run "$tmp/fail.yaml" --out "$tmp/failstore"
expect sweep-retry-failed 1 "ran 1" -- "$bin" run "$tmp/fail.yaml" --out "$tmp/failstore" --retry-failed

write_sweep "$tmp/limit.yaml" "{trainer.seed: [0]}" "trial_time_limit: 0.001"
expect sweep-time-limit 1 "failed 1" -- "$bin" run "$tmp/limit.yaml" --out "$tmp/limitstore"
expect sweep-time-limit-message 0 "trial time limit of 0.001 s exceeded" -- "$bin" status "$tmp/limitstore"

# ---- one grid point is one trial; everything checkable is checked at --dry-run, and dry-run and run agree ----
write_sweep "$tmp/repeat.yaml" "{watermark.lambda: [1.0, 1.00]}"
expect sweep-repeated-value 2 "repeat.yaml:[0-9]+:[0-9]+: grid axis watermark.lambda: the values 1.0 and 1.00 give the same trial [0-9a-f]{16}" -- "$bin" run "$tmp/repeat.yaml" --dry-run
expect sweep-repeated-value-run 2 "grid axis watermark.lambda: the values 1.0 and 1.00" -- "$bin" run "$tmp/repeat.yaml" --out "$tmp/repeatstore"
[[ ! -e $tmp/repeatstore ]] || { failed=$((failed + 1)); echo "FAIL: a refused sweep created its store"; }
write_sweep "$tmp/default.yaml" "{watermark.carriers: [6, 64], watermark.bits: [8]}"  # 64 = every input of 1x8x8: fine
expect sweep-all-carriers 0 "8 trials: 2 embed" -- "$bin" run "$tmp/default.yaml" --dry-run
write_sweep "$tmp/l03.yaml" "{watermark.lambda: [0.3]}"
write_sweep "$tmp/l030.yaml" "{watermark.lambda: [0.30]}"
id03=$("$bin" run "$tmp/l03.yaml" --dry-run 2>/dev/null | awk '$2 == "embed" { print $1 }')
id030=$("$bin" run "$tmp/l030.yaml" --dry-run 2>/dev/null | awk '$2 == "embed" { print $1 }')
if [[ -n $id03 && $id03 == "$id030" ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: lambda 0.3 ($id03) and 0.30 ($id030) must be one trial id"; fi
expect sweep-print-resolved 0 "lambda: 0\\.3$" -- "$bin" run "$tmp/l030.yaml" --print-config
write_sweep "$tmp/target.yaml" "{watermark.target_class: [0, 3]}"
expect sweep-target-class 2 "target.yaml:[0-9]+:[0-9]+: watermark.target_class = '3': target class 3: must be below the class count 3 \\(grid point watermark.target_class=3\\)" -- "$bin" run "$tmp/target.yaml" --dry-run
write_sweep "$tmp/carriers.yaml" "{watermark.carriers: [65]}"
expect sweep-carriers 2 "carriers.yaml:[0-9]+:[0-9]+: watermark.carriers = '65': 65 carriers: must be at most the input size 64 \\(1x8x8\\)" -- "$bin" run "$tmp/carriers.yaml" --dry-run
write_sweep "$tmp/budget.yaml" "{trainer.seed: [0]}"
sed -i 's/images_per_class: 20/images_per_class: 101/' "$tmp/budget.yaml"
expect sweep-attack-budget 2 "budget.yaml:[0-9]+:[0-9]+: images_per_class = '101': 101 images per class: the smallest class of the training split holds 100" -- "$bin" run "$tmp/budget.yaml" --dry-run
expect sweep-short-signature-warned 0 "watermark.bits = 8 can never be judged owned at verify.significance = 1e-06" -- "$bin" run "$tmp/l03.yaml" --dry-run

# ---- attacks on the prediction API, honest reports and the paper's figures (report --plots) ----
cat >"$tmp/api.yaml" <<'Y'
name: api
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 1, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 24, carriers: 48, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 10, h: [0.01]}}
grid: {trainer.seed: [0, 1, 2]}
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
  - {attack: prune, epochs: 1, images_per_class: 20, grid: {rate: [0.3, 0.6]}}
  - {attack: score-rounding, h: [0.1, 0.01], grid: {decimals: [3, 1]}}
  - {attack: noise, trials: 2, grid: {sigma: [0.0, 0.05]}}
Y
expect api-sweep-run 0 "done 27" -- "$bin" run "$tmp/api.yaml" --out "$tmp/apistore"
expect api-report-plots 0 "tables and figures in" -- "$bin" report "$tmp/apistore" --plots "$tmp/apiplots"
expect api-report-and-figures-agree 0 "checked 4 figures: noise, pruning, quantization, score-rounding; 4 API attack rows" -- /usr/bin/python3 "$src/tests/cli/check_report.py" "$bin" "$tmp/apistore" "$tmp/apiplots"
expect api-report-unknown-over-pools-nothing 0 "Rows pool nothing" -- "$bin" report "$tmp/apistore" --over ""

# ---- a null-model stage: K plain models of the recipe, each watermark checked against them ----
write_sweep "$tmp/null.yaml" "{watermark.bits: [8], trainer.seed: [0, 1]}" "null_models: {count: 3, first_seed: 100}"
expect null-dry-run 0 "13 trials: 2 embed, 6 attacks, 3 null models, 2 null checks" -- "$bin" run "$tmp/null.yaml" --dry-run
expect null-run 0 "done 13" -- "$bin" run "$tmp/null.yaml" --out "$tmp/nullstore"
expect null-report-columns 0 "^watermark.bits,n,null_models_median,.*,null_min_ber_mean,.*null_false_positive_rate_mean,.*owned_empirically_rate,owned_empirically_lo,owned_empirically_hi$" -- "$bin" report "$tmp/nullstore" --table null --format csv
expect null-report-row 0 "^8,2,3,[0-9.e-]*,[0-9.e-]*," -- "$bin" report "$tmp/nullstore" --table null --format csv
write_sweep "$tmp/nulloverlap.yaml" "{trainer.seed: [0, 1]}" "null_models: {count: 3, first_seed: 1}"
expect null-seed-overlap 2 "nulloverlap.yaml:[0-9]+:[0-9]+: null_models.first_seed = '1': the null models' seeds 1..3 include trainer.seed 1" -- "$bin" run "$tmp/nulloverlap.yaml" --dry-run

# ---- given models: attack_checkpoints copies a checkpoint into the store (content hash recorded), attacks it ----
cat >"$tmp/given.yaml" <<Y
name: given
attack_checkpoints: [$tmp/ok.h5]
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
Y
expect given-dry-run 0 "3 trials: 0 embed, 2 attacks, 1 given checkpoints" -- "$bin" run "$tmp/given.yaml" --dry-run
expect given-run 0 "done 3" -- "$bin" run "$tmp/given.yaml" --out "$tmp/givenstore"
expect given-copied-with-its-hash 0 "^copy identical, content hash recorded, 2 attacks read it$" -- /usr/bin/python3 - "$tmp/givenstore" "$tmp/ok.h5" <<'PY'
import glob, hashlib, sys, h5py
store, source = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()
h = hashlib.sha256(data).hexdigest()  # common/hash.h: SHA-256 guards a given file against substitution
trials = [h5py.File(f, "r")["trial"] for f in glob.glob(store + "/trials/*.h5")]
given = [t for t in trials if t.attrs["kind"] == "checkpoint"]
assert len(given) == 1 and given[0].attrs["state"] == "done", [t.attrs["kind"] for t in trials]
config = given[0]["config"][()].decode()
assert f"content_hash: {h}" in config and f"checkpoint: {source}" in config, config
assert open(store + "/" + given[0].attrs["checkpoint"], "rb").read() == data
attacks = [t for t in trials if t.attrs["parent"] == given[0].attrs["id"] and t.attrs["state"] == "done"]
print(f"copy identical, content hash recorded, {len(attacks)} attacks read it")
PY
expect given-report 0 "\\| quantize \\| 4 \\|" -- "$bin" report "$tmp/givenstore" --table attacks
expect given-rerun-runs-nothing 0 "done 3" -- bash -c '"$1" run "$2" --out "$3" 2>&1 | grep -v "trial [0-9]*/3"' _ "$bin" "$tmp/given.yaml" "$tmp/givenstore"
sed 's/{attack: quantize, grid: {bits: \[8, 4\]}}/{attack: ftal, images_per_class: 5000}/' "$tmp/given.yaml" >"$tmp/given-budget.yaml"
expect given-checked-against-its-data 2 "given-budget.yaml:4:[0-9]+: images_per_class = .5000.: 5000 images per class: the smallest class of the training split holds 100" -- "$bin" run "$tmp/given-budget.yaml" --dry-run
sed "s#$tmp/ok.h5#$tmp/tiny.h5#" "$tmp/given.yaml" >"$tmp/given-plain.yaml"
expect given-plain-refused 2 "tiny.h5: carries no watermark: attack_checkpoints takes watermarked models" -- "$bin" run "$tmp/given-plain.yaml" --dry-run
sed "s#$tmp/ok.h5#$tmp/later.h5#" "$tmp/given.yaml" >"$tmp/given-later.yaml"
expect given-missing-warned 0 "later.h5 not found here" -- "$bin" run "$tmp/given-later.yaml" --dry-run
expect given-missing-fails-its-trial 1 "later.h5: cannot open the file" -- "$bin" run "$tmp/given-later.yaml" --out "$tmp/laterstore"
printf 'name: nothing\nattacks: [{attack: quantize}]\n' >"$tmp/nobase.yaml"
expect given-or-base-required 2 "nobase.yaml: missing required key 'base' .*or attack_checkpoints" -- "$bin" run "$tmp/nobase.yaml" --dry-run

# ---- plain models in a grid: watermark {scheme: none} is the trial without a watermark section ----
write_sweep "$tmp/plain.yaml" "{watermark: [{scheme: none}, {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}]}"
expect plain-grid-dry-run-attacks-only-the-watermark 0 "5 trials: 2 embed, 3 attacks" -- "$bin" run "$tmp/plain.yaml" --dry-run
expect plain-grid-config-has-no-watermark 0 "^1$" -- bash -c '"$1" run "$2" --print-config 2>/dev/null | grep -c "^  *watermark:\|^watermark:"' _ "$bin" "$tmp/plain.yaml"
sed -e 's/trainer: {epochs: 1,/trainer: {epochs: 2,/' "$tmp/plain.yaml" >"$tmp/plain2.yaml"
expect plain-grid-run 0 "done 5" -- "$bin" run "$tmp/plain2.yaml" --out "$tmp/plainstore"
expect plain-grid-training-figure 0 "figure training: training.png" -- "$bin" report "$tmp/plainstore" --plots "$tmp/plainplots"
expect plain-grid-training-curves 0 "^4 rows, epochs 1-2, plain and gradsigns$" -- /usr/bin/python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
kinds = sorted({'plain' if 'none' in r['watermark'] else 'gradsigns' for r in rows})
print(f\"{len(rows)} rows, epochs {min(r['epoch'] for r in rows)}-{max(r['epoch'] for r in rows)}, {' and '.join(reversed(kinds))}\")" "$tmp/plainplots/training.csv"
expect plain-grid-report-check 0 "checked 2 figures: quantization, training" -- /usr/bin/python3 "$src/tests/cli/check_report.py" "$bin" "$tmp/plainstore" "$tmp/plainplots"
write_sweep "$tmp/plainbad.yaml" "{watermark: [{scheme: none, bits: 8}]}"
expect plain-grid-extra-key 2 "watermark.bits = '8': a plain model \\(scheme: none\\) takes no other watermark key" -- "$bin" run "$tmp/plainbad.yaml" --dry-run

# ---- the authors' released model: import, verify, attack (needs ../shared/reference and the CIFAR-10 JPEG copy) ----
ref=$src/../shared/reference/gradsigns-cifar10-64bit
if [[ -d $ref && -n ${SIGNSWEEP_CIFAR10_JPEG_DIR:-} ]]; then
  expect import-keras 0 "test_accuracy 0\\.(79|80|81)[0-9]*.*matched_bits (6[0-4]).*checkpoint" -- bash -c '"$1" import --keras "$2/model.hdf5" --keys "$2" --data "$3" --out "$4" --images 10 --repeats 4 --h 0.01 2>&1 | tr "\n" " "' _ "$bin" "$ref" "$SIGNSWEEP_CIFAR10_JPEG_DIR" "$tmp/released.h5"
  expect import-verify 0 "test_accuracy 0\\.(79|80|81)[0-9]* \\(10000 test images\\).*matched_bits (6[0-4])" -- bash -c '"$1" verify "$2" --images 10 --repeats 4 2>&1 | tr "\n" " "' _ "$bin" "$tmp/released.h5"
  expect import-origin 0 "keras .*gradsigns-cifar10-64bit/model.hdf5" -- /usr/bin/python3 -c "import h5py, sys; print(h5py.File(sys.argv[1], 'r').attrs['origin'])" "$tmp/released.h5"
  expect import-attack 0 "ber_white_box_after 0\\.0[0-9]+" -- "$bin" attack "$tmp/released.h5" --attack quantize --set bits=8
else
  echo "skipped: import of the released model (needs $ref and SIGNSWEEP_CIFAR10_JPEG_DIR)"
fi
expect import-missing-keys 2 "--keys" -- "$bin" import --keras "$tmp/ok.h5" --data "$tmp" --out "$tmp/x.h5"
expect import-not-keras 2 "ok.h5: not a Keras model file" -- "$bin" import --keras "$tmp/ok.h5" --keys "$tmp" --data "$tmp" --out "$tmp/x.h5"

# ---- one run per store: a second run is refused naming the holder; the lock of a killed run is taken over ----
write_sweep "$tmp/long.yaml" "{trainer.seed: [0]}"
sed -i 's/trainer: {epochs: 1,/trainer: {epochs: 5000,/' "$tmp/long.yaml"
"$bin" run "$tmp/long.yaml" --out "$tmp/lockstore" >"$tmp/long.log" 2>&1 &
holder=$!
for _ in $(seq 1 100); do [[ -s $tmp/lockstore/lock ]] && break; sleep 0.1; done
expect lock-second-run-refused 2 "lockstore: another signsweep run holds this store \\(host $(hostname) pid $holder started .*\\): one run per store" -- "$bin" run "$tmp/long.yaml" --out "$tmp/lockstore"
expect lock-status-reads-meanwhile 0 "running +1" -- "$bin" status "$tmp/lockstore"
kill -9 "$holder"
wait "$holder" 2>/dev/null
expect lock-taken-over 124 "took over the lock of a run that died holding it \\(host $(hostname) pid $holder started" -- timeout 5 "$bin" run "$tmp/long.yaml" --out "$tmp/lockstore"

# ---- resumable trials: SIGKILL between epochs or SIGUSR1 mid-epoch, then a relaunch ends with exactly the model
# of an uninterrupted run (same machine, same thread count) ----
cp "$src/tests/support/resume-sweep.yaml" "$tmp/resume.yaml"
expect resume-reference 0 "done 1" -- "$bin" run "$tmp/resume.yaml" --out "$tmp/resref"
# The resumed stores get the reference's store secret, hence the same watermark (another secret: another one).
for store in reskill resusr1; do mkdir -p "$tmp/$store" && cp "$tmp/resref/secret" "$tmp/$store/"; done
"$bin" run "$tmp/resume.yaml" --out "$tmp/reskill" >"$tmp/reskill.log" 2>&1 &
victim=$!
# a complete state (<id>.<attempt>.pt), not the temporary file it is written through (<id>.<attempt>.pt.tmp-<pid>);
# up to 30 s: a loaded machine (ctest -j) starts the run slowly
for _ in $(seq 1 1500); do compgen -G "$tmp/reskill/states/*.pt" >/dev/null && break; sleep 0.02; done
kill -9 "$victim"
wait "$victim" 2>/dev/null
expect resume-after-sigkill 0 "resuming from .*states/[0-9a-f]{16}\\.2\\.pt: epoch [0-9]+ of 40" -- "$bin" run "$tmp/resume.yaml" --out "$tmp/reskill"
expect resume-sigkill-bit-identical 0 "bit-identical" -- /usr/bin/python3 "$src/tests/support/same_models.py" "$(ls "$tmp"/resref/checkpoints/*.h5)" "$(ls "$tmp"/reskill/checkpoints/*.h5)"
[[ -z $(ls "$tmp/reskill/states") ]] || { failed=$((failed + 1)); echo "FAIL: a finished trial left its resumable state"; }
"$bin" run "$tmp/resume.yaml" --out "$tmp/resusr1" >"$tmp/resusr1.log" 2>&1 &
victim=$!
for _ in $(seq 1 1500); do grep -q "epoch 2/40" "$tmp/resusr1.log" && break; sleep 0.02; done
kill -USR1 "$victim"
wait "$victim"
rc=$?
if [[ $rc -eq 75 ]] && grep -q "interrupted after step [0-9]* of epoch [0-9]* (resumable state saved)" "$tmp/resusr1.log"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL resume-sigusr1: exit $rc (want 75)"; tail -5 "$tmp/resusr1.log"
fi
expect resume-sigusr1-pending 0 "pending +1" -- "$bin" status "$tmp/resusr1"
expect resume-after-sigusr1 0 "resuming from .*: epoch [0-9]+ of 40, step [0-9]+" -- "$bin" run "$tmp/resume.yaml" --out "$tmp/resusr1"
expect resume-sigusr1-bit-identical 0 "bit-identical" -- /usr/bin/python3 "$src/tests/support/same_models.py" "$(ls "$tmp"/resref/checkpoints/*.h5)" "$(ls "$tmp"/resusr1/checkpoints/*.h5)"

# ---- secrets: a store's own secret (0600), the watermark secrets derived from it, in no file a user publishes ----
printf 'name: secret\ngrid: {trainer.seed: [0]}\nbase:\n  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 90}\n  model: {name: small-cnn, width: 4}\n  trainer: {epochs: 1, batch_size: 30, threads: 1}\n  watermark: {bits: 8, carriers: 6, verify: {images: 5, repeats: 1, remote_images: 0}}\nattacks: [{attack: quantize, bits: 8}]\n' >"$tmp/secret.yaml"
expect secret-store-a 0 "done 2" -- "$bin" run "$tmp/secret.yaml" --out "$tmp/secret-a" --log-level debug
"$bin" run "$tmp/secret.yaml" --out "$tmp/secret-a" --log-level debug >"$tmp/secret-a-rerun.log" 2>&1
expect secret-store-b 0 "done 2" -- "$bin" run "$tmp/secret.yaml" --out "$tmp/secret-b"
expect secret-file-private 0 "^600 64$" -- bash -c 'echo "$(stat -c %a "$1") $(tr -d "\n" <"$1" | grep -Ec "^[0-9a-f]{64}$" | sed s/1/64/)"' _ "$tmp/secret-a/secret"
expect secret-two-stores-two-watermarks 0 "^signatures or keys differ; each store keeps its own secret$" -- /usr/bin/python3 - "$tmp/secret-a" "$tmp/secret-b" <<'PY'
import glob, sys, h5py
a, b = (h5py.File(glob.glob(s + "/checkpoints/*.h5")[0], "r")["watermark"] for s in sys.argv[1:3])
assert a["key"][()].tolist() != b["key"][()].tolist(), "two stores of one YAML carry the same watermark"
assert open(sys.argv[1] + "/secret").read() != open(sys.argv[2] + "/secret").read()
print("signatures or keys differ; each store keeps its own secret")
PY
# What a user publishes (the run's log, every table, the export, status, the dry run) holds neither the store's
# secret nor the watermark's seed.
"$bin" run "$tmp/secret.yaml" --print-config >"$tmp/secret-published.txt" 2>&1
for table in embed attacks training; do "$bin" report "$tmp/secret-a" --table "$table" --format csv >>"$tmp/secret-published.txt"; done
"$bin" export "$tmp/secret-a" --csv >>"$tmp/secret-published.txt"
"$bin" status "$tmp/secret-a" >>"$tmp/secret-published.txt"
"$bin" report "$tmp/secret-a" --plots "$tmp/secret-plots" >/dev/null && cat "$tmp"/secret-plots/*.csv "$tmp"/secret-plots/*.md >>"$tmp/secret-published.txt"
cat "$tmp/secret-a-rerun.log" >>"$tmp/secret-published.txt"
expect secret-in-nothing-published 0 "^secret and seed absent from [0-9]+ published lines$" -- /usr/bin/python3 - "$tmp/secret-a" "$tmp/secret-published.txt" <<'PY'
import glob, sys, h5py
store, published = sys.argv[1], open(sys.argv[2]).read()
seed = str(int(h5py.File(glob.glob(store + "/checkpoints/*.h5")[0], "r")["watermark"].attrs["seed"]))
secret = open(store + "/secret").read().strip()
assert len(seed) >= 6 and seed not in published, f"the watermark seed {seed} was published"
assert secret not in published and secret[:16] not in published, "the store secret was published"
for f in glob.glob(store + "/trials/*.h5") + [store + "/sweep.h5"]:
    text = open(f, "rb").read()
    assert seed.encode() not in text and secret.encode() not in text, f"{f} holds a secret"
print(f"secret and seed absent from {published.count(chr(10))} published lines")
PY
rm "$tmp/secret-b/secret"
expect secret-lost-refused 2 "secret-b/secret: missing: this store's secret is gone" -- "$bin" run "$tmp/secret.yaml" --out "$tmp/secret-b"

# ---- a store of the previous format (ids of the config as written): readable, never resumed ----
cp -r "$tmp/store" "$tmp/oldstore"
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['format_version'] = 1" "$tmp/oldstore/sweep.h5"
expect old-store-refused 2 "older signsweep \\(store format 1\\).*Nothing in this store was changed" -- "$bin" run "$tmp/sweep.yaml" --out "$tmp/oldstore"
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['format_version'] = 2" "$tmp/oldstore/sweep.h5"
expect format-2-store-refused 2 "older signsweep \\(store format 2\\), whose trials' watermark secrets derived from settings anyone with the sweep's YAML has" -- "$bin" run "$tmp/sweep.yaml" --out "$tmp/oldstore"
expect old-store-status 0 "done +[0-9]+" -- "$bin" status "$tmp/oldstore"
expect old-store-report 0 "prune" -- "$bin" report "$tmp/oldstore" --table attacks
expect old-store-export 0 "^id,kind,label" -- "$bin" export "$tmp/oldstore" --csv

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
