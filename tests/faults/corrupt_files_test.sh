#!/usr/bin/env bash
# Silent corruption: checkpoints and resumable states carry the SHA-256 of their content (storage/sealed_file.h).
# Checks: a checkpoint still opens with h5py; one byte flipped anywhere in a copy (its header, its HDF5 metadata,
# its weights, its last byte) makes `verify` and `attack` exit 2 naming the file, never read as a model; inside a
# sweep, an attack whose parent's model was damaged fails naming the file (the rest of the sweep runs), and a
# damaged resumable state is set aside: the trial starts again from its first epoch and finishes.
# Usage: corrupt_files_test.sh <signsweep>
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/../support/checks.sh"
# flip <file> <offset, negative: from the end>: inverts the bits of one byte in place
flip() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
path, offset = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
data[offset] ^= 0xFF
open(path, "wb").write(bytes(data))
PY
}

cat >"$tmp/m.yaml" <<Y
dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
model: {name: small-cnn, width: 4}
trainer: {epochs: 1, batch_size: 30, threads: 1, lr: 0.01}
watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
Y
"$bin" train "$tmp/m.yaml" --out "$tmp/m.h5" >"$tmp/train.log" 2>&1
check "train exits 0" "[[ $? -eq 0 ]]"
check "h5py opens a checkpoint with its checksum" \
  "/usr/bin/python3 -c \"import h5py; f = h5py.File('$tmp/m.h5', 'r'); assert f.attrs['format'] == 'signsweep-checkpoint'\""
"$bin" verify "$tmp/m.h5" >/dev/null 2>&1
check "the intact checkpoint verifies" "[[ $? -eq 0 ]]"

# Offsets: the checksum header, the HDF5 superblock, the middle (object headers or weights), the end.
size=$(stat -c %s "$tmp/m.h5")
for offset in 20 520 $((size / 2)) $((size * 3 / 4)) -1; do
  cp "$tmp/m.h5" "$tmp/bad.h5"
  flip "$tmp/bad.h5" "$offset"
  "$bin" verify "$tmp/bad.h5" >"$tmp/v.log" 2>&1
  rc=$?
  check "verify refuses a byte flipped at $offset [exit $rc]" "[[ $rc -eq 2 ]] && grep -q '$tmp/bad.h5: corrupt' $tmp/v.log"
  "$bin" attack "$tmp/bad.h5" --attack quantize --set bits=4 >"$tmp/a.log" 2>&1
  rc=$?
  check "attack refuses a byte flipped at $offset [exit $rc]" "[[ $rc -eq 2 ]] && grep -q '$tmp/bad.h5: corrupt' $tmp/a.log"
done

# ---- inside a sweep: a damaged parent model fails its attacks, naming it ----
cat >"$tmp/embed.yaml" <<Y
name: corrupt
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 1, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1]}
Y
"$bin" run "$tmp/embed.yaml" --out "$tmp/store" >"$tmp/embed.log" 2>&1
check "the models' sweep exits 0" "[[ $? -eq 0 ]]"
damaged=$(ls "$tmp"/store/checkpoints/*.h5 | head -1)
flip "$damaged" $(($(stat -c %s "$damaged") / 2))
{ cat "$tmp/embed.yaml"; echo "attacks: [{attack: quantize, grid: {bits: [4]}}]"; } >"$tmp/attack.yaml"
"$bin" run "$tmp/attack.yaml" --out "$tmp/store" --extend >"$tmp/attack.log" 2>&1
rc=$?
check "the attack sweep ends with a failed trial (exit 1) [$rc]" "[[ $rc -eq 1 ]]"
check "its error names the damaged model" "grep -q 'failed: $damaged: corrupt' $tmp/attack.log"
check "the other model's attack is done" "grep -q '^done 3' $tmp/attack.log"

# ---- a damaged resumable state: the trial starts again and finishes ----
cat >"$tmp/long.yaml" <<Y
name: long
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 200, batch_size: 30, threads: 1, lr: 0.01, checkpoint_every: {epochs: 1}}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
Y
"$bin" run "$tmp/long.yaml" --out "$tmp/resume" >"$tmp/first.log" 2>&1 &
job=$!
for _ in $(seq 1 1500); do compgen -G "$tmp/resume/states/*.pt" >/dev/null && break; sleep 0.02; done
kill -TERM "$job"
wait "$job"
check "SIGTERM leaves a resumable state (exit 75)" "[[ $? -eq 75 ]] && compgen -G '$tmp/resume/states/*.pt' >/dev/null"
state=$(ls "$tmp"/resume/states/*.pt | head -1)
flip "$state" $(($(stat -c %s "$state") / 2))
"$bin" run "$tmp/long.yaml" --out "$tmp/resume" >"$tmp/second.log" 2>&1
check "the relaunch finishes the trial (exit 0)" "[[ $? -eq 0 ]] && grep -q '^done 1' $tmp/second.log"
check "it says the state was damaged and not used" "grep -q 'corrupt: the SHA-256 .*starts again from its first epoch' $tmp/second.log"
check "and never resumed from it" "! grep -q 'resuming from' $tmp/second.log"

if [[ $failed -gt 0 ]]; then
  for f in "$tmp"/attack.log "$tmp"/second.log; do echo "--- $f"; grep -v '\[info\]' "$f" | tail -8; done
fi
echo "corrupt-files test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
