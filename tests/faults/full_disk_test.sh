#!/usr/bin/env bash
# A store whose filesystem fills mid-sweep, and one that is read-only from the start, each on a tmpfs mounted in
# a mount namespace of this test's own (nothing outside it sees the mount). Checks, for the full disk: the run
# stops cleanly (exit 74, never a signal) with a message naming the path, "No space left on device" and the
# space left; every trial recorded done reads back with h5py; no file in the store is a half-written one taken
# for good; a relaunch on a bigger filesystem (a copy of the store) finishes the sweep and runs no finished
# trial again; the same under mpirun (a worker's checkpoint write fails: rank 0 stops the run, exit 74). For the
# read-only store: exit 2 before any trial, naming the path, in --dry-run too.
# Exit 77 (skipped, with the reason) where mount namespaces cannot be made.
# Usage: full_disk_test.sh <signsweep> [mpirun]
set -uo pipefail
bin=$1
mpirun=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
skip() { echo "SKIP: $1"; exit 77; }
command -v unshare >/dev/null || skip "util-linux (unshare) is missing"
unshare -m --propagation private true 2>"$tmp/err" || skip "cannot create mount namespaces: $(cat "$tmp/err")"

passed=0
failed=0
check() {  # check <name> <condition as a bash expression>
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: $2"; fi
}

# 12 small watermarked models, each attacked twice: 36 trials, a few KiB to 100 KiB each.
cat >"$tmp/s.yaml" <<Y
name: full-disk
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: 2, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
Y

# --- the disk fills ----------------------------------------------------------------------------------------
mkdir -p "$tmp/small"
unshare -m --propagation private bash -c "mount -t tmpfs -o size=400k tmpfs '$tmp/small' && '$bin' run '$tmp/s.yaml' --out '$tmp/small/store' >'$tmp/out.txt' 2>&1; echo \$? >'$tmp/rc'; cp -a '$tmp/small/store' '$tmp/store'" 
rc=$(cat "$tmp/rc")
out=$(cat "$tmp/out.txt")
check full-exit-code "[[ $rc -eq 74 ]]"
check full-message-reason "grep -q 'No space left on device' <<<\"\$out\""
check full-message-space-left "grep -Eq '[0-9.]+ (B|KiB) free of [0-9.]+ KiB' <<<\"\$out\""
check full-message-path "grep -q '$tmp/small/store' <<<\"\$out\""
check full-says-relaunch "grep -qi 'relaunch' <<<\"\$out\""
check full-no-crash "! grep -Eqi 'segmentation|terminate called|aborted|core dumped' <<<\"\$out\""
[[ $failed -eq 0 ]] || sed 's/^/    /' "$tmp/out.txt" | grep -v '\[info\]' | tail -15

# Every file of the store opens (no half-written file under a good name), every done trial reads back.
/usr/bin/python3 - "$tmp/store" >"$tmp/read.txt" 2>&1 <<'PY'
import glob, json, sys
import h5py
store = sys.argv[1]
with h5py.File(f"{store}/sweep.h5", "r") as f:
    plan = json.loads(f["plan"][()])
done = 0
for t in plan:
    path = f"{store}/trials/{t['id']}.h5"
    try:
        trial = h5py.File(path, "r")
    except FileNotFoundError:
        continue
    with trial:
        state = trial["trial"].attrs["state"]
        if state == "done":
            done += 1
            if t["kind"] == "embed":
                assert trial["trial"]["checkpoint"].attrs["format"] == "signsweep-checkpoint", path
                assert 0.0 <= trial["trial"]["results"].attrs["test_accuracy"] <= 1.0, path
for path in glob.glob(f"{store}/checkpoints/*.h5"):
    h5py.File(path, "r").close()
assert not glob.glob(f"{store}/**/*.tmp-*", recursive=True), "temporary files left behind"
print(f"done {done} of {len(plan)}")
PY
read_rc=$?
check full-store-reads-back "[[ $read_rc -eq 0 ]]"
done_before=$(grep -o 'done [0-9]*' "$tmp/read.txt" | awk '{print $2}')
check full-some-done-some-not "[[ ${done_before:-0} -gt 0 && ${done_before:-0} -lt 36 ]]"
[[ $read_rc -eq 0 ]] || sed 's/^/    /' "$tmp/read.txt" | tail -5
"$bin" export "$tmp/store" --csv | awk -F, 'NR > 1 && $5 == "done" {print $1 "," $8}' | sort >"$tmp/done-before.csv"

# Space freed (the store copied to a filesystem with room): the relaunch finishes, and reruns nothing done.
"$bin" run "$tmp/s.yaml" --out "$tmp/store" >"$tmp/out2.txt" 2>&1
rc2=$?
check relaunch-exit-code "[[ $rc2 -eq 0 ]]"
check relaunch-done "grep -q '^done 36$' '$tmp/out2.txt'"
check relaunch-skipped-the-done "grep -q '^skipped_done ${done_before:-x}$' '$tmp/out2.txt'"
"$bin" export "$tmp/store" --csv | awk -F, 'NR > 1 && $5 == "done" {print $1 "," $8}' | sort >"$tmp/done-after.csv"
check relaunch-kept-every-finished-trial "[[ -s '$tmp/done-before.csv' ]] && [[ -z \$(comm -23 '$tmp/done-before.csv' '$tmp/done-after.csv') ]]"

# --- the disk fills under mpirun: a worker group's checkpoint write fails, rank 0 stops the run ---------------
if [[ -n $mpirun ]]; then
  mkdir -p "$tmp/small-mpi"
  unshare -m --propagation private bash -c "mount -t tmpfs -o size=400k tmpfs '$tmp/small-mpi' && '$mpirun' --allow-run-as-root --oversubscribe --bind-to none -np 3 '$bin' run '$tmp/s.yaml' --out '$tmp/small-mpi/store' >'$tmp/mpi.txt' 2>&1; echo \$? >'$tmp/mpi.rc'"
  check mpi-exit-code "[[ \$(cat '$tmp/mpi.rc') -eq 74 ]]"
  check mpi-message "grep -q 'No space left on device' '$tmp/mpi.txt' && grep -q 'relaunch' '$tmp/mpi.txt'"
  check mpi-no-crash "! grep -Eqi 'segmentation|terminate called|core dumped' '$tmp/mpi.txt'"
  [[ $(cat "$tmp/mpi.rc") -eq 74 ]] || grep -v '\[info\]' "$tmp/mpi.txt" | tail -10 | sed 's/^/    /'
  # A data-parallel group of two: the leader's failed write ends the trial on both ranks (no rank left waiting
  # in an allreduce); bounded by timeout, a hang fails.
  mkdir -p "$tmp/small-dp"
  unshare -m --propagation private bash -c "mount -t tmpfs -o size=400k tmpfs '$tmp/small-dp' && timeout 120 '$mpirun' --allow-run-as-root --oversubscribe --bind-to none -np 3 '$bin' run '$tmp/s.yaml' --ranks-per-trial 2 --out '$tmp/small-dp/store' >'$tmp/dp.txt' 2>&1; echo \$? >'$tmp/dp.rc'"
  check dp-exit-code "[[ \$(cat '$tmp/dp.rc') -eq 74 ]]"
  [[ $(cat "$tmp/dp.rc") -eq 74 ]] || grep -v '\[info\]' "$tmp/dp.txt" | tail -10 | sed 's/^/    /'
fi

# --- a read-only store from the start -------------------------------------------------------------------------
mkdir -p "$tmp/ro"
unshare -m --propagation private bash -c "mount -t tmpfs -o size=1m tmpfs '$tmp/ro' && mkdir '$tmp/ro/store' && mount -o remount,ro '$tmp/ro' && { '$bin' run '$tmp/s.yaml' --out '$tmp/ro/store' >'$tmp/ro.txt' 2>&1; echo \$? >'$tmp/ro.rc'; '$bin' run '$tmp/s.yaml' --out '$tmp/ro/store' --dry-run >'$tmp/ro-dry.txt' 2>&1; echo \$? >'$tmp/ro-dry.rc'; }"
check readonly-exit-2 "[[ \$(cat '$tmp/ro.rc') -eq 2 ]]"
check readonly-names-path "grep -q '$tmp/ro/store' '$tmp/ro.txt' && grep -q 'Read-only file system' '$tmp/ro.txt'"
check readonly-no-trial-ran "! grep -q 'trial 1/' '$tmp/ro.txt'"
check readonly-dry-run-exit-2 "[[ \$(cat '$tmp/ro-dry.rc') -eq 2 ]] && grep -q 'Read-only file system' '$tmp/ro-dry.txt'"
[[ $(cat "$tmp/ro.rc") -eq 2 ]] || sed 's/^/    /' "$tmp/ro.txt" | tail -5

echo "full disk: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
