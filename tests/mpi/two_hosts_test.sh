#!/usr/bin/env bash
# A sweep under mpirun across two hosts of the test's own: two network namespaces joined by a veth pair on a
# private subnet, each process in a UTS namespace of its own host name; mpirun runs in the first and starts
# its daemon in the second through its launch agent (plm_rsh_agent: this script's agent instead of ssh), with
# TCP confined to the veth subnet, so no traffic leaves the namespaces. Checks: the rank -> host -> device map
# names both hosts, every trial finishes, the shared-store probe passes; then the same with the store hidden
# from the second host (a tmpfs over it in a mount namespace): exit 2 naming that host. Cleans up its
# namespaces. Exit 77 (skipped, with the reason) where namespaces cannot be made.
# Usage: two_hosts_test.sh <signsweep> <mpirun>
set -uo pipefail
bin=$1
mpirun=$2
id=$$
ns_a=ss-a-$id
ns_b=ss-b-$id
net=10.77.$((id % 200 + 20))
tmp=$(mktemp -d)
cleanup() {
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null  # the veth pair goes with its namespaces
  rm -rf "$tmp"
}
trap cleanup EXIT

skip() { echo "SKIP: $1"; exit 77; }
command -v ip >/dev/null || skip "iproute2 (ip) is missing"
command -v unshare >/dev/null || skip "util-linux (unshare) is missing"
ip netns add "$ns_a" 2>"$tmp/err" || skip "cannot create network namespaces: $(cat "$tmp/err")"
ip netns add "$ns_b" 2>"$tmp/err" || skip "cannot create network namespaces: $(cat "$tmp/err")"
unshare -u -m true 2>"$tmp/err" || skip "cannot create UTS/mount namespaces: $(cat "$tmp/err")"
ip link add "va$id" type veth peer name "vb$id" || skip "cannot create a veth pair"
ip link set "va$id" netns "$ns_a"
ip link set "vb$id" netns "$ns_b"
ip -n "$ns_a" addr add "$net.1/24" dev "va$id"
ip -n "$ns_b" addr add "$net.2/24" dev "vb$id"
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set "va$id" up
ip -n "$ns_b" link set "vb$id" up

support=$(cd "$(dirname "$0")/../support" && pwd)
source "$support/checks.sh"

# The launch agent: runs Open MPI's daemon command "on" the second host: in its network namespace, as host
# `hostb`, optionally with `$HIDE` (a directory) covered by an empty tmpfs.
cat >"$tmp/agent.sh" <<A
#!/usr/bin/env bash
shift  # the host name Open MPI asks for: there is only one other host
hide=''
[[ -n \${HIDE:-} ]] && hide="mount -t tmpfs tmpfs \$HIDE && "
exec ip netns exec $ns_b unshare -u -m --propagation private sh -c "\${hide}hostname hostb && \$*"
A
chmod +x "$tmp/agent.sh"

cat >"$tmp/s.yaml" <<Y
name: two-hosts
base:
  dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300}
  model: {name: small-cnn, width: 4, batch_norm: false}
  trainer: {epochs: 1, batch_size: 30, threads: 1, lr: 0.01}
  watermark: {bits: 8, carriers: 6, lambda: 1.0, verify: {images: 10, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [0, 1, 2, 3]}
attacks:
  - {attack: quantize, grid: {bits: [8, 4]}}
Y
# A sweep long enough for a host to be lost mid-way: 10 trials of a few seconds, lost_after 10 s.
cp "$support/lost-group-sweep.yaml" "$tmp/long.yaml"
# run_two_hosts <store> [dir to hide from hostb] [sweep]: rank 0 and 1 on hosta, rank 2 on hostb
run_two_hosts() {
  HIDE=${2:-} ip netns exec "$ns_a" unshare -u sh -c "hostname hosta && exec timeout 240 $mpirun --allow-run-as-root \
    --oversubscribe -H $net.1:2,$net.2:1 -np 3 --mca plm_rsh_agent $tmp/agent.sh --mca oob_tcp_if_include $net.0/24 \
    --mca btl_tcp_if_include $net.0/24 --mca btl self,tcp -x HIDE $bin run ${3:-$tmp/s.yaml} --out $1"
}
# lose_hostb <store> <how: link|kill>: runs the long sweep on both hosts and, once hostb runs a trial, cuts the
# link between the hosts or kills every process of hostb; sets rc and seconds (from the loss to the end).
# Open MPI notices a daemon whose link is gone by TCP keepalive on its connections only (300 s + 9 x 20 s by
# default): docs/cluster.md recommends shorter ones, and this test uses shorter still.
lose_hostb() {
  OMPI_MCA_oob_tcp_keepalive_time=5 OMPI_MCA_oob_tcp_keepalive_intvl=2 OMPI_MCA_oob_tcp_keepalive_probes=3 \
    run_two_hosts "$1" "" "$tmp/long.yaml" >"$1.log" 2>&1 &
  local job=$!
  wait_for "$1.log" "-> group 1" 120 || true
  sleep 1
  local lost_at=$SECONDS
  if [[ $2 == link ]]; then ip -n "$ns_b" link set "vb$id" down; else ip netns pids "$ns_b" | xargs -r kill -9; fi
  wait "$job"
  rc=$?
  seconds=$((SECONDS - lost_at))
  [[ $2 == link ]] && ip -n "$ns_b" link set "vb$id" up
}
# done_count <store>: how many trials the store has done
done_count() { "$bin" export "$1" --csv 2>/dev/null | grep -c ',done,'; }

run_two_hosts "$tmp/shared/store" >"$tmp/run.log" 2>&1
rc=$?
check "two hosts: sweep exits 0" "[[ $rc -eq 0 ]]"
check "two hosts: the map names hosta" "grep -q 'rank 1 host hosta group 0 (leader) device cpu' $tmp/run.log"
check "two hosts: the map names hostb" "grep -q 'rank 2 host hostb group 1 (leader) device cpu' $tmp/run.log"
check "two hosts: every trial done" "grep -q '^done 12' $tmp/run.log"
check "two hosts: trials ran on hostb" "$bin export $tmp/shared/store --csv | grep -q ',hostb,'"
[[ $rc -eq 0 ]] || tail -20 "$tmp/run.log"

mkdir -p "$tmp/hidden"
run_two_hosts "$tmp/hidden/store" "$tmp/hidden" >"$tmp/hidden.log" 2>&1
rc=$?
check "store hidden from hostb: exit 2" "[[ $rc -eq 2 ]]"
check "store hidden from hostb: the message names the store and the host" \
  "grep -q 'the store $tmp/hidden/store is not on a filesystem that host hostb can see' $tmp/hidden.log"
check "store hidden from hostb: no trial ran" "[[ -z \$(ls $tmp/hidden/store/trials 2>/dev/null) ]]"
[[ $rc -eq 2 ]] || tail -20 "$tmp/hidden.log"

# lost_host_case <how: link|kill> <name>: hostb lost mid-sweep; the run must end by itself, naming the host, and
# a relaunch on hosta alone must run only what was not done.
lost_host_case() {
  local store=$tmp/shared/$1
  lose_hostb "$store" "$1"
  local log=$store.log
  check "$2: the run ends by itself, no hang [exit $rc after $seconds s]" "[[ $rc -ne 0 && $rc -ne 124 && $seconds -lt 120 ]]"
  check "$2: the message names the lost host" "grep -Eq 'group 1 on hostb: silent for|on node $net.2|connect\(\) to $net.2' $log"
  check "$2: the store opens" "$bin status $store >/dev/null"
  local before
  before=$(done_count "$store")
  ip netns exec "$ns_a" unshare -u sh -c "hostname hosta && exec timeout 240 $mpirun --allow-run-as-root --oversubscribe \
    -np 2 --mca btl self,tcp $bin run $tmp/long.yaml --out $store" >"$store-relaunch.log" 2>&1
  check "$2: a relaunch on hosta alone exits 0" "[[ $? -eq 0 ]]"
  check "$2: it runs only what was not done [$before done before]" "grep -q '^ran $((10 - before))\$' $store-relaunch.log"
  check "$2: every trial done" "[[ $(done_count "$store") -eq 10 ]]"
  echo "    $2: exit $rc, $seconds s after the loss; $before of 10 trials done, the relaunch ran the rest"
  grep -v '\[info\]' "$log" | grep -E 'silent for|on node|exit' | head -4 | sed "s/^/    $2: /"
  [[ $failed -eq 0 ]] || grep -v '\[info\]' "$log" | tail -20
}
lost_host_case link "link cut"
lost_host_case kill "host killed"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
