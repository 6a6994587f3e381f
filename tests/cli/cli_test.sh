#!/usr/bin/env bash
# CLI tests against the real binary: help texts, --version, exit codes (0 ok / 2 bad input) and that
# every error message names the file, key or value at fault. Usage: cli_test.sh <signsweep> <source dir>
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
for sub in train data list; do
  expect "help-$sub" 0 "Usage: .*$sub" -- "$bin" "$sub" --help
done
expect version 0 "signsweep [0-9.]+ \(git [0-9a-f]{7,}|unknown" -- "$bin" --version
expect version-libs 0 "libtorch 1\.|libtorch 2\." -- "$bin" --version
expect no-subcommand 2 "subcommand" -- "$bin"
expect unknown-option 2 "--bogus" -- "$bin" train --bogus x.yaml
expect list 0 "fashion-mnist" -- "$bin" list

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
expect train-synthetic 0 "test_accuracy (0\.[89]|1\.0)" -- "$bin" train "$tmp/tiny.yaml"
expect data-fashion 0 "train +60000 images" -- "$bin" data "$src/experiments/quickstart.yaml"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
