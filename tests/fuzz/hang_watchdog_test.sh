#!/usr/bin/env bash
# The fuzz targets' hang watchdog (fuzz/hang_watchdog.h), on a real target and real inputs: HDF5 1.10.8's
# global-heap loop (fuzz/known/hdf5-1.10.8/keras_hdf5-H5HG-loop) is stopped by the watchdog, not by libFuzzer's
# -timeout (set far away here), the way libFuzzer ends a timeout: its exit code, the stack through HDF5, the final
# statistics, the input saved as timeout-<hash> under -artifact_prefix (saved nowhere when the input file is rerun
# alone, as libFuzzer does); the kept corpus (tests/fuzz_corpus/, about 300 inputs and half a second of CPU time in
# all) passes under a 100 ms limit, so the limit is per input; and with SIGNSWEEP_FUZZ_HANG_MS=0 nothing is armed
# (libFuzzer's own -timeout stops the loop).
# Usage: hang_watchdog_test.sh <keras_hdf5_fuzz> <source dir>
set -euo pipefail
target=$(realpath "$1") src=$(cd "$2" && pwd)
hang=$src/fuzz/known/hdf5-1.10.8/keras_hdf5-H5HG-loop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=0 SIGNSWEEP_FUZZ_HANG_MS=100
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$tmp/artifacts" "$tmp/inputs" "$tmp/rerun"
cp "$hang" "$tmp/inputs/"
rc=0  # an input folder, as when fuzzing: the hanging input is saved
timeout 60 "$target" -runs=0 -timeout=30 -artifact_prefix="$tmp/artifacts/" "$tmp/inputs" >"$tmp/hang.log" 2>&1 || rc=$?
[[ $rc == 70 ]] || { cat "$tmp/hang.log"; fail "the loop ended with exit $rc, not libFuzzer's timeout code 70"; }
grep -q "ERROR: hang watchdog: one input took over 100 ms of CPU time" "$tmp/hang.log" ||
  { cat "$tmp/hang.log"; fail "no watchdog report"; }
grep -qE "^stat::number_of_executed_units: [1-9]" "$tmp/hang.log" ||
  { cat "$tmp/hang.log"; fail "no final statistics (fork mode counts a job's executions from them)"; }
grep -q "H5HG" "$tmp/hang.log" || { cat "$tmp/hang.log"; fail "the stack does not go through HDF5's global heap"; }
saved=("$tmp"/artifacts/timeout-*)
[[ ${#saved[@]} == 1 && -f ${saved[0]} ]] || fail "expected one timeout-* artifact, found: $(ls "$tmp/artifacts")"
cmp -s "${saved[0]}" "$hang" || fail "the saved artifact is not the input"
rc=0  # the input file itself, as the triage reruns a finding: stopped, and saved nowhere (as libFuzzer does)
(cd "$tmp/rerun" && timeout 60 "$target" -timeout=30 "$hang" >../rerun.log 2>&1) || rc=$?
[[ $rc == 70 ]] && grep -q "ERROR: hang watchdog" "$tmp/rerun.log" || { cat "$tmp/rerun.log"; fail "the rerun was not stopped"; }
[[ -z $(ls "$tmp/rerun") ]] || fail "a rerun of a file saved an artifact: $(ls "$tmp/rerun")"

mkdir "$tmp/corpus" "$tmp/corpus-artifacts"
tar -xJf "$src/tests/fuzz_corpus/keras_hdf5.tar.xz" -C "$tmp/corpus"
n=$(find "$tmp/corpus" -type f | wc -l)
((n >= 100)) || fail "only $n inputs in the kept keras_hdf5 corpus"
"$target" -runs=0 -timeout=30 -artifact_prefix="$tmp/corpus-artifacts/" "$tmp/corpus" >"$tmp/corpus.log" 2>&1 ||
  { cat "$tmp/corpus.log"; fail "an input of the kept corpus tripped the watchdog"; }
[[ -z $(ls "$tmp/corpus-artifacts") ]] || fail "artifacts from the kept corpus: $(ls "$tmp/corpus-artifacts")"

rc=0
SIGNSWEEP_FUZZ_HANG_MS=0 timeout 60 "$target" -timeout=1 -artifact_prefix="$tmp/artifacts/off-" "$hang" >"$tmp/off.log" 2>&1 ||
  rc=$?
grep -q "hang watchdog" "$tmp/off.log" && fail "the watchdog fired with SIGNSWEEP_FUZZ_HANG_MS=0"
grep -q "ERROR: libFuzzer: timeout" "$tmp/off.log" ||
  { cat "$tmp/off.log"; fail "without the watchdog, libFuzzer's -timeout=1 did not stop the loop (exit $rc)"; }
echo "PASS: the loop stopped by the watchdog (exit 70, H5HG stack, input saved), the $n kept inputs pass under it, off at 0"
