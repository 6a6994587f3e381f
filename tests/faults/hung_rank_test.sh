#!/usr/bin/env bash
# A hung worker rank under real mpirun (3 ranks: rank 0 schedules, ranks 1 and 2 are groups 0 and 1), made with
# SIGSTOP as a node stuck in an NFS or GPU hang looks. Checks: rank 0 declares the silent group lost after the
# sweep's lost_after, names it and its host in the log and in `status`; the other group finishes every trial,
# the lost one's included (resumed from its last saved state); the run ends with exit 76 within lost_after plus
# the remaining work plus a margin; a relaunch with all ranks healthy runs nothing (every trial done exactly
# once). Then the same with SIGCONT after the loss: the woken rank's late result is refused, and the trial's
# model is the one of the group that took it over.
# Usage: hung_rank_test.sh <signsweep> <mpirun>
set -uo pipefail
bin=$1
mpirun=$2
mpi=("$mpirun" --allow-run-as-root --oversubscribe)
tmp=$(mktemp -d)
trap 'pkill -CONT -f "signsweep run $tmp" 2>/dev/null; kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
support=$(cd "$(dirname "$0")/../support" && pwd)
source "$support/checks.sh"
lost_after=10  # the sweep's
cp "$support/lost-group-sweep.yaml" "$tmp/s.yaml"  # 10 trials of a few seconds each
# state_counts <store>: "done running pending failed"
state_counts() {
  "$bin" export "$1" --csv >"$tmp/all.csv" 2>/dev/null
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "state") c = i; next } { n[$c]++ }
    END { printf "%d %d %d %d\n", n["done"], n["running"], n["pending"], n["failed"] }' "$tmp/all.csv"
}

# run_with_a_hung_rank <store> <wake: yes|no>: starts the sweep, stops rank 2 once a trial is done (it is then
# running its next one), optionally wakes it once it is declared lost; waits for the end (at most 240 s).
run_with_a_hung_rank() {
  local store=$1 wake=$2
  "${mpi[@]}" -np 3 "$bin" run "$tmp/s.yaml" --out "$store" >"$store.log" 2>&1 &
  local job=$!
  wait_for "$store.log" "group 1 \(leader\)" 60 || true
  wait_for "$store.log" "-> group 1" 60 || true
  local victim
  victim=$(pid_of_rank 2 "signsweep run $tmp/s.yaml")
  kill -STOP "$victim"
  stopped_at=$(date +%s.%N)
  if [[ $wake == yes ]]; then
    wait_for "$store.log" "declared lost" $((lost_after + 60)) || true
    kill -CONT "$victim"
  fi
  for _ in $(seq 1 2400); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$job" 2>/dev/null && { echo "the run did not end: killing it"; kill -9 "$job"; }
  wait "$job"
  rc=$?
  ended_at=$(date +%s.%N)
}

# ---- a rank stopped for good ----
run_with_a_hung_rank "$tmp/store" no
log=$tmp/store.log
check "exit code 76 (groups lost) [$rc]" "[[ $rc -eq 76 ]]"
check "the lost group and its host are named" "grep -Eq 'group 1 on [^ ]+: silent for [0-9]+ s \(since [0-9T:-]+Z\), declared lost' $log"
check "its trial goes back to the queue" "grep -q 'goes back to the queue' $log"
check "the exit is explained" "grep -q 'worker group(s) lost' $log"
# It ends within lost_after + the other trials' time: one group runs 10 trials of a few seconds (~40 s here).
elapsed=$(awk -v a="$stopped_at" -v b="$ended_at" 'BEGIN { printf "%d", b - a }')
check "ends within 180 s of the stop [$elapsed s]" "[[ $elapsed -lt 180 ]]"
echo "    stopped for good: exit $rc, $elapsed s after the SIGSTOP; $(grep -o 'silent for [0-9]* s' "$log" | head -1)"
check "no crash" "! grep -Eqi 'segmentation|terminate called|core dumped' $log"
read -r done running pending failed <<<"$(state_counts "$tmp/store")"
check "every trial done by the other group [$done done, $running running, $pending pending, $failed failed]" "[[ $done -eq 10 ]]"
check "status names the lost group" "'$bin' status '$tmp/store' | grep -Eq '^lost .*worker group 1 on'"
# The requeued trial ran to its end on group 0: once recorded, its model published and readable.
lost_id=$(sed -n 's/.*trial \([0-9a-f]\{16\}\) goes back to the queue.*/\1/p' "$log" | head -1)
check "the lost trial's model is in the store" "[[ -n '$lost_id' && -f '$tmp/store/checkpoints/$lost_id.h5' ]]"
check "the lost trial's model is group 0's" "'$bin' export '$tmp/store' --csv | grep '^$lost_id,' | grep -q ',done,'"
check "no model of an attempt left under a trial's name" "[[ -z \$(ls '$tmp/store/checkpoints' | grep -v '^[0-9a-f]\{16\}\\.h5\$') ]]"
"${mpi[@]}" -np 3 "$bin" run "$tmp/s.yaml" --out "$tmp/store" >"$tmp/relaunch.log" 2>&1
check "a healthy relaunch exits 0" "[[ $? -eq 0 ]]"
check "and runs nothing: every trial done exactly once" "grep -q '^ran 0' $tmp/relaunch.log"

# ---- the stopped rank wakes up after it was declared lost ----
run_with_a_hung_rank "$tmp/woken" yes
log=$tmp/woken.log
check "woken: exit code 76 [$rc]" "[[ $rc -eq 76 ]]"
check "woken: its late result is refused" "grep -q 'group 1 (lost) answered late for trial .*: refused' $log"
read -r done running pending failed <<<"$(state_counts "$tmp/woken")"
check "woken: every trial done [$done done]" "[[ $done -eq 10 ]]"
lost_id=$(sed -n 's/.*trial \([0-9a-f]\{16\}\) goes back to the queue.*/\1/p' "$log" | head -1)
# The trial's record is group 0's (the one that took it over), attempt 2; the woken group wrote only its own
# attempt's files, which the relaunch clears.
check "woken: the trial is recorded as group 0's second attempt" \
  "/usr/bin/python3 -c \"import h5py,sys; t=h5py.File('$tmp/woken/trials/$lost_id.h5','r')['trial']; p=t['provenance'].attrs; sys.exit(0 if (t.attrs['attempts']==2 and p['group']=='0' and 'lost' in p) else 1)\""
"${mpi[@]}" -np 3 "$bin" run "$tmp/s.yaml" --out "$tmp/woken" >"$tmp/relaunch2.log" 2>&1
check "woken: a healthy relaunch runs nothing" "grep -q '^ran 0' $tmp/relaunch2.log"
check "woken: no file of the lost attempt is left" "[[ -z \$(ls '$tmp/woken/checkpoints' | grep -v '^[0-9a-f]\{16\}\\.h5\$') ]]"

if [[ $failed -gt 0 ]]; then
  for f in "$tmp/store.log" "$tmp/woken.log"; do echo "--- $f"; grep -v '\[info\]' "$f" | tail -20; done
fi
echo "hung-rank test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
