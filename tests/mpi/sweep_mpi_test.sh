#!/usr/bin/env bash
# Sweeps under real mpirun: every trial done exactly once with attacks after their parent, data-parallel
# worker groups, a failing grid point, a bad MPI layout, a worker rank SIGKILLed mid-sweep followed by
# a relaunch that completes the sweep, SIGTERM/SIGUSR1 to rank 0 and to mpirun (exit 75, resumable state),
# and resumed trials that end bit-identical to one process. Usage: sweep_mpi_test.sh <signsweep> <mpirun> <source dir>
set -uo pipefail
bin=$1
mpirun=$2
src=$3
mpi=("$mpirun" --allow-run-as-root --oversubscribe)
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {  # check <name> <condition as a bash expression>
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: $2"; fi
}

write_sweep() {  # write_sweep <file> <grid> <epochs> [extra line]
  cat >"$1" <<Y
name: mpi
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4, batch_norm: false}
  trainer: {epochs: $3, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: $2
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
  - {attack: prune, epochs: 1, images_per_class: 20, grid: {rate: [0.3]}}
  - {attack: ftll, epochs: 1, images_per_class: 20}
${4:-}
Y
}

# wait_done <store> <n>: until the store has at least n done trials (at most 60 s)
wait_done() {
  for _ in $(seq 1 600); do
    local n
    n=$("$bin" export "$1" --csv 2>/dev/null | grep -c ',done,') || true
    [[ ${n:-0} -ge $2 ]] && return
    sleep 0.1
  done
}
# pid_of_rank <rank> <sweep file>: the process of that MPI rank running the sweep
pid_of_rank() {
  for p in $(pgrep -f "signsweep run $2"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; fi
  done
}

# csv_col <csv> <column name>: prints that column (no quoting in these files' id/state/time columns)
csv_col() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { print $c }' "$1"; }

# ---- 20 trials over 3 worker ranks ----
write_sweep "$tmp/s.yaml" "{watermark.bits: [4, 8], trainer.seed: [0, 1]}" 1
"${mpi[@]}" -np 4 "$bin" run "$tmp/s.yaml" --out "$tmp/store" >"$tmp/run.log" 2>&1
check "sweep exits 0" "[[ $? -eq 0 ]]"
check "rank map printed" "grep -q 'rank 3 host .* group 2 (leader) device cpu' $tmp/run.log"
# --oversubscribe binds no rank: the 3 workers share one mask, each gets max(1, cores / 3) threads
share=$(sed -n 's/.*rank 1 host .* threads \([0-9]*\) (\([0-9]*\) core(s) in the mask shared by 3 worker rank(s).*/\1 \2/p' "$tmp/run.log")
read -r share_threads share_mask <<<"${share:-0 0}"
check "workers sharing a node divide its cores ($share)" \
  "[[ $share_mask -ge 1 && $share_threads -eq $((share_mask / 3 > 1 ? share_mask / 3 : 1)) ]]"
"$bin" export "$tmp/store" --csv >"$tmp/all.csv"
check "20 trials" "[[ $(($(wc -l <"$tmp/all.csv") - 1)) -eq 20 ]]"
check "all done" "[[ -z \$(csv_col $tmp/all.csv state | grep -v '^done\$') ]]"
check "each exactly once" "[[ -z \$(csv_col $tmp/all.csv attempts | grep -v '^1\$') ]]"
# every attack started after its parent finished (ISO-8601 UTC with ms: string order is time order)
order_ok=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { id[NR] = $col["id"]; parent[NR] = $col["parent"]; start[NR] = $col["started"]; fin[$col["id"]] = $col["finished"] }
  END { ok = 1; for (r in id) if (parent[r] != "" && !(fin[parent[r]] <= start[r])) ok = 0; print ok }' "$tmp/all.csv")
check "attacks after their parent" "[[ $order_ok -eq 1 ]]"
"${mpi[@]}" -np 4 "$bin" run "$tmp/s.yaml" --out "$tmp/store" >"$tmp/rerun.log" 2>&1
check "relaunch of a finished sweep runs nothing" "grep -q '^ran 0' $tmp/rerun.log"

# ---- data-parallel worker groups: 2 groups of 2 ranks ----
write_sweep "$tmp/dp.yaml" "{trainer.seed: [0, 1]}" 1 "ranks_per_trial: 2"
"${mpi[@]}" -np 5 "$bin" run "$tmp/dp.yaml" --out "$tmp/dpstore" >"$tmp/dp.log" 2>&1
check "data-parallel sweep exits 0" "[[ $? -eq 0 ]]"
check "data-parallel: 2 groups of 2" "grep -q '2 worker group(s) of 2 rank(s)' $tmp/dp.log"
check "data-parallel: all 10 done" "grep -q '^done 10' $tmp/dp.log"

# ---- a group of 2 shares every batch: a batch of 30 with 5 target images cannot be shared ----
write_sweep "$tmp/odd.yaml" "{trainer.seed: [0]}" 1 "ranks_per_trial: 2"
sed -i 's/verify: {images: 10/target_per_batch: 5, verify: {images: 10/' "$tmp/odd.yaml"
"${mpi[@]}" -np 3 "$bin" run "$tmp/odd.yaml" --out "$tmp/odd" >"$tmp/odd.log" 2>&1
rc=$?
check "unsharable batch exits 2" "[[ $rc -eq 2 ]]"
check "unsharable batch said once, naming the values" "[[ \$(grep -c 'watermark.target_per_batch = 5 must both be multiples of 2' $tmp/odd.log) -eq 1 ]]"

# ---- bad layout: 2 worker ranks cannot form groups of 3 ----
"${mpi[@]}" -np 3 "$bin" run "$tmp/s.yaml" --out "$tmp/bad" --ranks-per-trial 3 >"$tmp/bad.log" 2>&1
rc=$?
check "bad layout exits 2" "[[ $rc -eq 2 ]]"
check "bad layout message" "grep -q 'is not a positive multiple of it' $tmp/bad.log"
check "bad layout said once, by rank 0" "[[ \$(grep -c 'is not a positive multiple of it' $tmp/bad.log) -eq 1 ]]"
# ---- a bad sweep file: every rank finds it before MPI starts; rank 0 says it once, every rank exits 2 ----
write_sweep "$tmp/badkey.yaml" "{trainer.seed: [0]}" 1 "max_retries: -1"
"${mpi[@]}" -np 3 "$bin" run "$tmp/badkey.yaml" --out "$tmp/badkey" >"$tmp/badkey.log" 2>&1
rc=$?
check "bad sweep file exits 2" "[[ $rc -eq 2 ]]"
check "bad sweep file said once" "[[ \$(grep -c \"max_retries = '-1'\" $tmp/badkey.log) -eq 1 ]]"

# ---- device binding: rank 0 gathers every rank's visible GPUs; a device none of them has is exit 2 ----
write_sweep "$tmp/gpu.yaml" "{trainer.seed: [0]}" 1 "device: cuda"
"${mpi[@]}" -np 3 "$bin" run "$tmp/gpu.yaml" --out "$tmp/gpustore" >"$tmp/gpu.log" 2>&1
rc=$?
gpus=$("$bin" --version | sed -n 's/^gpus \([0-9]*\).*/\1/p')
if [[ ${gpus:-0} -eq 0 ]]; then  # no GPU visible here (the CI machine)
  check "device cuda without a GPU exits 2" "[[ $rc -eq 2 ]]"
  check "device cuda message names the value and the host" "grep -q \"gpu.yaml: device = 'cuda': no GPU is visible on host\" $tmp/gpu.log"
  check "device error before any trial was written" "[[ ! -e $tmp/gpustore/trials ]] || [[ -z \$(ls $tmp/gpustore/trials) ]]"
elif [[ $gpus -eq 1 ]]; then  # the GPU machine: its one GPU shared by the 2 worker ranks only when allowed
  check "2 ranks on 1 GPU refused without allow_gpu_sharing" "[[ $rc -eq 2 ]] && grep -q 'allow_gpu_sharing' $tmp/gpu.log"
  "${mpi[@]}" -np 3 "$bin" run "$tmp/gpu.yaml" --out "$tmp/gpustore" --allow-gpu-sharing >"$tmp/gpu2.log" 2>&1
  check "2 ranks sharing cuda:0" "[[ $? -eq 0 ]] && grep -q 'rank 2 host .* device cuda:0' $tmp/gpu2.log"
  check "trial provenance says cuda:0" "$bin export $tmp/gpustore --csv | grep -q 'cuda:0'"
fi

# ---- one grid point fails: recorded with its message, the rest done, exit 1 ----
write_sweep "$tmp/f.yaml" "{dataset: [{name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}, {name: cifar10, path: /no/such/cifar}]}" 1
"${mpi[@]}" -np 3 "$bin" run "$tmp/f.yaml" --out "$tmp/fstore" >"$tmp/f.log" 2>&1
rc=$?
check "failing point exits 1" "[[ $rc -eq 1 ]]"
check "failing point: 1 failed, 5 done" "grep -q '^failed 1' $tmp/f.log && grep -q '^done 5' $tmp/f.log"
check "failure message stored" "$bin status $tmp/fstore | grep -q 'cifar10 directory not found'"

# ---- SIGKILL of a worker rank mid-sweep: the job aborts; the relaunch completes it ----
write_sweep "$tmp/k.yaml" "{trainer.seed: [0, 1, 2, 3, 4, 5]}" 40
"${mpi[@]}" -np 3 "$bin" run "$tmp/k.yaml" --out "$tmp/kstore" >"$tmp/k.log" 2>&1 &
job=$!
wait_done "$tmp/kstore" 2
victim=$(pid_of_rank 1 "$tmp/k.yaml")
check "found worker rank 1" "[[ -n '$victim' ]]"
done_before=$("$bin" export "$tmp/kstore" --csv | awk -F, '$5 == "done" { print $1 }' | sort)
kill -9 "$victim"
wait "$job"
rc=$?
check "job aborted after the kill" "[[ $rc -ne 0 ]]"
check "store opens after the kill" "$bin status $tmp/kstore >/dev/null"
"${mpi[@]}" -np 3 "$bin" run "$tmp/k.yaml" --out "$tmp/kstore" >"$tmp/k2.log" 2>&1
check "relaunch exits 0" "[[ $? -eq 0 ]]"
"$bin" export "$tmp/kstore" --csv >"$tmp/k.csv"
check "relaunch completes all 30" "[[ $(csv_col $tmp/k.csv state | grep -c '^done$') -eq 30 ]]"
rerun=0
for id in $done_before; do
  a=$(awk -F, -v id="$id" '$1 == id { print $6 }' "$tmp/k.csv")
  [[ $a -eq 1 ]] || rerun=$((rerun + 1))
done
check "trials done before the kill were not rerun" "[[ $rerun -eq 0 && -n '$done_before' ]]"

# ---- SIGTERM to rank 0 (what a scheduler's stop or mpirun's forwarding delivers): no new trials, the running
# training trials save their state, every rank exits, the job exits 75 (requeue); the relaunch completes ----
"${mpi[@]}" -np 3 "$bin" run "$tmp/k.yaml" --out "$tmp/tstore" >"$tmp/t.log" 2>&1 &
job=$!
wait_done "$tmp/tstore" 1
rank0=$(pid_of_rank 0 "$tmp/k.yaml")
kill -TERM "$rank0"
wait "$job"
rc=$?
"$bin" export "$tmp/tstore" --csv >"$tmp/t.csv"
check "SIGTERM: exit 75 (interrupted, resumable)" "[[ $rc -eq 75 ]]"
check "SIGTERM: stop logged" "grep -q 'stop requested' $tmp/t.log"
check "SIGTERM: nothing left running" "[[ $(csv_col $tmp/t.csv state | grep -c '^running$') -eq 0 ]]"
check "SIGTERM: some trials left pending" "[[ $(csv_col $tmp/t.csv state | grep -c '^pending$') -gt 0 ]]"
"${mpi[@]}" -np 3 "$bin" run "$tmp/k.yaml" --out "$tmp/tstore" >"$tmp/t2.log" 2>&1
check "SIGTERM: relaunch completes" "grep -q '^done 30' $tmp/t2.log"

# ---- resumable trials under mpirun: the worker SIGKILLed, SIGUSR1 to rank 0, SIGUSR1 to mpirun (forwarded to every
# rank, as `sbatch --signal=B:USR1@300` delivers it): the relaunch ends with exactly the model of one process ----
cp "$src/tests/support/resume-sweep.yaml" "$tmp/r.yaml"
"$bin" run "$tmp/r.yaml" --out "$tmp/rref" >"$tmp/rref.log" 2>&1
check "resume: one-process reference done" "grep -q '^done 1' $tmp/rref.log"
same() { /usr/bin/python3 "$src/tests/support/same_models.py" "$(ls "$tmp"/rref/checkpoints/*.h5)" "$(ls "$1"/checkpoints/*.h5)"; }
# The resumed stores get the reference's store secret, hence the same watermark (another secret: another one).
for store in rkill rrank0 rmpirun; do mkdir -p "$tmp/$store" && cp "$tmp/rref/secret" "$tmp/$store/"; done
"${mpi[@]}" -np 2 "$bin" run "$tmp/r.yaml" --out "$tmp/rkill" >"$tmp/rkill.log" 2>&1 &
job=$!
for _ in $(seq 1 300); do [[ -n $(ls "$tmp/rkill/states" 2>/dev/null) ]] && break; sleep 0.02; done
kill -9 "$(pid_of_rank 1 "$tmp/r.yaml")"
wait "$job"
"${mpi[@]}" -np 2 "$bin" run "$tmp/r.yaml" --out "$tmp/rkill" >"$tmp/rkill2.log" 2>&1
check "resume: SIGKILLed worker, relaunch resumes" "grep -q 'resuming from .*: epoch' $tmp/rkill2.log && grep -q '^done 1' $tmp/rkill2.log"
check "resume: after SIGKILL bit-identical to one process" "same $tmp/rkill >/dev/null"
for target in rank0 mpirun; do
  "${mpi[@]}" -np 2 "$bin" run "$tmp/r.yaml" --out "$tmp/r$target" >"$tmp/r$target.log" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do grep -q 'epoch 2/40' "$tmp/r$target.log" && break; sleep 0.02; done
  if [[ $target == rank0 ]]; then kill -USR1 "$(pid_of_rank 0 "$tmp/r.yaml")"; else kill -USR1 "$job"; fi
  wait "$job"
  rc=$?
  check "resume: SIGUSR1 to $target exits 75" "[[ $rc -eq 75 ]]"
  check "resume: SIGUSR1 to $target saved the state mid-epoch" "grep -q 'interrupted after step [0-9]* of epoch' $tmp/r$target.log"
  "${mpi[@]}" -np 2 "$bin" run "$tmp/r.yaml" --out "$tmp/r$target" >"$tmp/r${target}2.log" 2>&1
  check "resume: SIGUSR1 to $target, relaunch finishes" "grep -q '^done 1' $tmp/r${target}2.log"
  check "resume: SIGUSR1 to $target bit-identical to one process" "same $tmp/r$target >/dev/null"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
