#!/usr/bin/env bash
# signsweep under a real single-node Slurm cluster (Debian's slurm-wlm and munge, brought up in a temporary
# folder: no systemd, no cgroups; ../shared/spec/toolchain.md): srun --mpi=pmix -n 3 runs a sweep to the end,
# and scripts/slurm/signsweep.sbatch survives a preemption signal: USR1 to the batch shell makes signsweep save
# and exit 75, the job requeues itself, and the requeued job resumes the interrupted trial mid-way and finishes
# with every trial done once. Usage: slurm_test.sh <signsweep> <source dir>. Exit 77 = skipped (with the reason).
set -uo pipefail
bin=$(realpath "$1")
src=$(realpath "$2")
for tool in slurmctld slurmd sbatch srun scontrol munged; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (scripts/setup.sh installs slurm-wlm and munge)"; exit 77; }
done
[[ $(id -u) -eq 0 ]] || { echo "SKIP: the test cluster's daemons run as root"; exit 77; }
[[ -r /etc/munge/munge.key ]] || { echo "SKIP: /etc/munge/munge.key is missing (the munge package makes it)"; exit 77; }

T=$(mktemp -d /tmp/signsweep-slurm.XXXXXX)
chmod 0755 "$T"
stop_cluster() {
  for pid_file in "$T"/slurmd-*.pid "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    [[ -f $pid_file ]] && kill "$(cat "$pid_file")" 2>/dev/null
  done
  sleep 1
  rm -rf "$T"
}
trap stop_cluster EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
node=$(hostname -s)
install -d -o munge -g munge -m 0755 "$T/munge"
runuser -u munge -- munged --socket="$T/munge/munge.socket" --pid-file="$T/munge/munged.pid" \
  --log-file="$T/munge/munged.log" --seed-file="$T/munge/seed" || { echo "FAIL: munged did not start"; exit 1; }
mkdir -p "$T/state" "$T/spool" "$T/log"
# CPUs=4 on a node that may have 2 (config_overrides): the scheduler rank and two workers fit one task each.
cat >"$T/slurm.conf" <<C
ClusterName=signsweep-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket,cred_expire=10
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/slurmd-%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd-%n.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
MinJobAge=300
KillWait=10
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$node CPUs=4 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
C
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF" || { echo "FAIL: the Slurm daemons did not start"; cat "$T"/log/*; exit 1; }
for _ in $(seq 1 50); do [[ $(sinfo -h -o %t 2>/dev/null) == idle ]] && break; sleep 0.2; done
[[ $(sinfo -h -o %t) == idle ]] || { echo "FAIL: the node is not idle: $(sinfo -h -o '%t %E')"; cat "$T"/log/*; exit 1; }
echo "cluster up: node $node, $(sinfo -h -o '%c CPUs, partition %P')"

failed=0
check() {  # check <name> <condition command...>
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failed=$((failed + 1)); fi
}
sweep() {  # sweep <file> <name> <epochs> <seeds>
  cat >"$1" <<Y
name: $2
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4}
  trainer: {epochs: $3, batch_size: 30, threads: 0, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: $4}
attacks:
  - {attack: quantize, bits: 8}
Y
}
cd "$T" || exit 1

# ---- srun -n 3 with Open MPI, as the batch script launches it ----
sweep "$T/short.yaml" short 2 "[0, 1, 2]"
timeout 300 srun --mpi=pmix -n 3 -c 1 --cpu-bind=none -t 5 "$bin" run "$T/short.yaml" --out "$T/short-store" >"$T/srun.log" 2>&1
rc=$?
check "srun --mpi=pmix -n 3: exit $rc, done 6" grep -q "^done 6$" "$T/srun.log"
check "srun: 3 ranks, 2 worker groups" grep -q "MPI layout: 3 ranks, 2 worker group(s)" "$T/srun.log"
check "srun: a worker's threads come from SLURM_CPUS_PER_TASK" grep -q "threads 1 (SLURM_CPUS_PER_TASK=1" "$T/srun.log"
[[ $rc -eq 0 ]] || tail -20 "$T/srun.log"

# ---- sbatch: preempted with USR1, requeued, resumed ----
sweep "$T/long.yaml" long 600 "[0]"
job=$(SIGNSWEEP="$bin" sbatch --parsable -N 1 -n 2 -c 1 --time=10 --output="$T/job-%j.log" \
  "$src/scripts/slurm/signsweep.sbatch" "$T/long.yaml" "$T/long-store")
echo "submitted job $job"
log=$T/job-$job.log
for _ in $(seq 1 600); do grep -q "epoch [3-9]/600\|epoch [1-9][0-9]*/600" "$log" 2>/dev/null && break; sleep 0.1; done
check "the job trains (epoch 3 or later in its log)" grep -q "epoch [0-9]*/600" "$log"
scancel --signal=USR1 --batch "$job"
for _ in $(seq 1 1200); do
  [[ $(grep -c "^done " "$log" 2>/dev/null) -ge 2 ]] && break
  sleep 0.1
done
check "USR1: signsweep saved and exited 75, the job requeued itself" grep -q "requeueing job $job" "$log"
check "the first run left the trial interrupted" grep -q "^interrupted [1-9]" "$log"
check "the requeued job ran (SLURM_RESTART_COUNT=1)" grep -q "signsweep job $job (restart 1)" "$log"
check "the requeued job resumed the trial mid-way" grep -q "resuming from .*: epoch [0-9]* of 600, step [0-9]* of" "$log"
# Every trial done once: the second run finds none done and runs both (the embed and its attack).
check "every trial done once (the second run: skipped_done 0, done 2)" \
  bash -c "grep -A4 '^ran ' '$log' | tail -5 | tr '\n' ' ' | grep -q 'ran 2 done 2 failed 0 pending 0 skipped_done 0'"
/usr/bin/python3 - "$T/long-store" <<'P' || failed=$((failed + 1))
import h5py, json, sys
with h5py.File(sys.argv[1] + "/sweep.h5", "r") as f:
    states = {t["kind"]: f["trials"][t["id"]].attrs["state"] for t in json.loads(f["plan"][()])}
ok = states == {"embed": "done", "quantize": "done"}
print(f"{'ok  ' if ok else 'FAIL'} the store read back with h5py: {states}")
sys.exit(0 if ok else 1)
P
if ((failed > 0)); then
  echo "--- job log"
  cat "$log"
else  # what a user reads in the job's log: the epochs before the signal, the requeue, the epochs after
  echo "--- job $job's log around the preemption and the resume"
  awk '/epoch [0-9]+\/600/ && !stopped {before2 = before1; before1 = $0}
       /\[warning\] interrupted:/ && !stopped {stopped = 1; print before2; print before1; print; next}
       /requeueing job|restart 1\)|resuming from/ {print; if (/resuming from/) after = 2; next}
       after > 0 && /epoch [0-9]+\/600/ {print; after--}' "$log" | cut -c1-220
fi
echo "$failed failed"
[[ $failed -eq 0 ]]
