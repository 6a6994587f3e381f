#!/usr/bin/env bash
# The one script run on the lent GPU machine (one H200, 16 cores, PyTorch 2.11 + CUDA 13, no prometheus-cpp,
# no network), from the repository root, within 9 minutes of wall time. Every step runs even when an
# earlier one fails, each under its own time limit; logs, CSVs and the summary go to $OUT.
#   bash scripts/gpu_check.sh          on the GPU machine: device cuda, its python3's PyTorch, build-gpu/
#   bash scripts/gpu_check.sh --cpu    here: every step against the LibTorch 2.x build (build-torch2/, from
#                                      scripts/test.sh --torch2) and its venv, device cpu, sizes cut down:
#                                      a test of this script, so that GPU time goes to the GPU
# The CIFAR-10 JPEG copy: ../shared/data/cifar10-jpeg.tar.gz, or carry/cifar10-jpeg.tar.gz (an ignored
# folder; copy the tarball there and name `carry` in the device tool's carry list when ../shared does not
# travel), or $SIGNSWEEP_CIFAR10_JPEG_DIR.
# Steps: build, version, cuda-tests (and the data-parallel equivalence, 2 ranks on the device; signsweep's double
# backwards on), bench (training step: C++ against PyTorch eager, same GPU, with LibTorch's double backwards and
# with signsweep's), pack
# (a sweep with 1, 4 and 8 worker ranks sharing the GPU: trials per hour, GPU memory per rank), cifar (a
# short ResNet-20 GradSigns training on the JPEG copy: accuracy and BER per epoch), then the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
mode=cuda
[[ ${1:-} == --cpu ]] && mode=cpu
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
summary=$out/summary.md
t_start=$(date +%s)

if [[ $mode == cuda ]]; then
  build=$src/build-gpu
  python=python3
  device=cuda
  cmake_extra=(-DSIGNSWEEP_WITH_PROMETHEUS=OFF)
  bench_args=(--steps 20 --rounds 3 --batch 100 --model resnet20 --threads 1)
  pack_ranks=(1 4 8)
  pack_trials=12
  pack_data="dataset: {name: synthetic, channels: 3, height: 32, width: 32, classes: 10, train_size: 4000, test_size: 1000}"
  pack_model="model: {name: resnet20}"
  cifar_trainer="epochs: 4, steps_per_epoch: 100"
  cifar_subset=""
  limit_scale=1
else
  build=$src/build-torch2
  python=${SIGNSWEEP_TORCH2_VENV:-/opt/signsweep/torch2}/bin/python
  device=cpu
  cmake_extra=()  # build-torch2 as the preset torch2 configured it
  bench_args=(--steps 2 --rounds 1 --batch 100 --model resnet20 --threads 2)
  pack_ranks=(1 4 8)
  pack_trials=8
  pack_data="dataset: {name: synthetic, channels: 1, height: 8, width: 8, classes: 3, train_size: 300, test_size: 100}"
  pack_model="model: {name: small-cnn, width: 4}"
  cifar_trainer="epochs: 2, steps_per_epoch: 3"
  cifar_subset=", train_per_class: 60, test_per_class: 20"
  limit_scale=4  # 2 cores, not 16: the limits are the GPU run's
fi
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
bin=$build/signsweep

declare -a step_rows=()
# step <name> <limit seconds> <function>: runs it with its output in $out/<name>.log, whatever came before
step() {
  local name=$1 limit=$(($2 * limit_scale)) fn=$3 t0 rc
  t0=$(date +%s)
  echo "== $name (limit ${limit}s)"
  timeout --signal=TERM --kill-after=10 "$limit" bash -c "$(declare -f "$fn"); $(declare -p src mode out build python device cmake_extra bench_args pack_ranks pack_trials pack_data pack_model cifar_trainer cifar_subset mpirun bin); $fn" \
    >"$out/$name.log" 2>&1
  rc=$?
  local verdict=ok
  ((rc == 124)) && verdict="TIMEOUT after ${limit}s"
  ((rc != 0 && rc != 124)) && verdict="FAIL (exit $rc)"
  step_rows+=("| $name | $verdict | $(($(date +%s) - t0)) s | $(tail -1 "$out/$name.log" | tr '|' '/' | cut -c1-160) |")
  echo "   $verdict in $(($(date +%s) - t0)) s: $(tail -1 "$out/$name.log")"
}

do_build() {
  set -e
  local prefix
  prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  if [[ $mode == cuda || ! -f $build/build.ninja ]]; then
    cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DSIGNSWEEP_REQUIRE_CUDA=ON -DSIGNSWEEP_BUILD_BENCH=ON "${cmake_extra[@]}"
  fi
  cmake --build "$build" -j "$(nproc)" --target signsweep cuda_tests dp_equivalence_test bench_train_step
  echo "built $build against torch $("$python" -c 'import torch; print(torch.__version__)')"
}

do_version() {
  "$bin" --version
  [[ $mode == cuda ]] && nvidia-smi --query-gpu=name,uuid,memory.total,driver_version --format=csv
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())'
}

do_cuda_tests() {
  # On the GPU machine the device under test is cuda:0; here SIGNSWEEP_TEST_DEVICE=cpu runs the same code.
  [[ $mode == cpu ]] && export SIGNSWEEP_TEST_DEVICE=cpu
  # signsweep's double backwards on the device too (models/double_backward.h; off on CUDA by default until
  # this run has tested them)
  SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda "$build/tests/cuda_tests" --gtest_output="xml:$out/cuda_tests.xml" 2>&1 | tee "$out/cuda_tests.txt"
  local rc=${PIPESTATUS[0]}
  grep -q "SKIPPED" "$out/cuda_tests.txt" && { echo "tests were skipped: no device under test"; return 1; }
  # The data-parallel equivalence with two ranks on one device (TF32 off inside the test).
  local dp_device=cuda:0
  [[ $mode == cpu ]] && dp_device=cpu
  SIGNSWEEP_TEST_DEVICE=$dp_device "${mpirun[@]}" -np 2 -x SIGNSWEEP_TEST_DEVICE "$build/tests/dp_equivalence_test" 2>&1 |
    grep -vE "\] epoch " | tee "$out/dp_equivalence.txt"
  local dp_rc=${PIPESTATUS[0]}
  echo "cuda_tests on $device: $(grep -E '^\[  (PASSED|FAILED)' "$out/cuda_tests.txt" | tr '\n' ' '); dp equivalence (2 ranks, $dp_device): $(tail -1 "$out/dp_equivalence.txt")"
  ((rc == 0 && dp_rc == 0))
}

do_bench() {
  # LibTorch's double backwards (the default on CUDA), then signsweep's (SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda)
  bash "$src/bench/compare_train_step.sh" --build "$build" --python "$python" --device "$device" "${bench_args[@]}" |
    tee "$out/bench.txt"
  local rc=${PIPESTATUS[0]}
  SIGNSWEEP_FUSED_DOUBLE_BACKWARD=cuda bash "$src/bench/compare_train_step.sh" --build "$build" --python "$python" \
    --device "$device" "${bench_args[@]}" | tee "$out/bench-own.txt"
  local own_rc=${PIPESTATUS[0]}
  echo "resnet20 batch 100 on $device: $(grep -E '^resnet20' "$out/bench.txt" | awk '{print $3": c++ "$6" img/s, eager "$7" img/s ("$8")"}' | tr '\n' ';') own double backwards: $(grep -E '^resnet20 .*gradsigns' "$out/bench-own.txt" | awk '{print "c++ "$6" img/s ("$8")"}')"
  ((rc == 0 && own_rc == 0))
}

do_pack() {
  set -e
  local seeds k
  seeds=$(seq -s, 0 $((pack_trials - 1)))
  cat >"$out/pack.yaml" <<Y
name: pack
allow_gpu_sharing: true
device: $device
base:
  $pack_data
  $pack_model
  trainer: {epochs: 1, batch_size: 100, threads: 1, lr: 0.001}
  watermark: {bits: 32, carriers: 64, lambda: 0.3, target_per_batch: 10, verify: {images: 20, repeats: 2, remote_images: 0}}
grid: {trainer.seed: [$seeds]}
Y
  echo "ranks,trials,seconds,trials_per_hour,max_gpu_mib_per_rank" >"$out/pack.csv"
  for k in "${pack_ranks[@]}"; do
    rm -rf "$out/pack-store-$k"
    local mem_pid="" t0 t1
    if [[ $mode == cuda ]]; then
      nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits -lms 500 >"$out/pack-mem-$k.csv" &
      mem_pid=$!
    fi
    t0=$(date +%s.%N)
    "${mpirun[@]}" -np $((k + 1)) "$bin" run "$out/pack.yaml" --out "$out/pack-store-$k" >"$out/pack-run-$k.log" 2>&1
    t1=$(date +%s.%N)
    [[ -n $mem_pid ]] && kill "$mem_pid"
    local mem=n/a
    [[ -s $out/pack-mem-$k.csv ]] && mem=$(awk -F', *' '{ if ($2 > m) m = $2 } END { print m + 0 }' "$out/pack-mem-$k.csv")
    grep -E "rank [0-9]+ host" "$out/pack-run-$k.log" | head -3
    local done_trials
    done_trials=$("$bin" export "$out/pack-store-$k" --csv | grep -c ',done,' || true)
    awk -v k="$k" -v n="$done_trials" -v t0="$t0" -v t1="$t1" -v mem="$mem" \
      'BEGIN { printf "%s,%s,%.1f,%.0f,%s\n", k, n, t1 - t0, n * 3600 / (t1 - t0), mem }' >>"$out/pack.csv"
  done
  cat "$out/pack.csv"
  echo "trials/hour by worker ranks: $(tail -n +2 "$out/pack.csv" | awk -F, '{printf "%s ranks %s/h; ", $1, $4}')"
}

do_cifar() {
  set -e
  local data=${SIGNSWEEP_CIFAR10_JPEG_DIR:-}
  if [[ -z $data ]]; then
    local tarball
    for tarball in "$src/../shared/data/cifar10-jpeg.tar.gz" "$src/carry/cifar10-jpeg.tar.gz"; do
      [[ -f $tarball ]] && break
    done
    [[ -f $tarball ]] || { echo "no CIFAR-10 JPEG copy (../shared/data or carry/)"; return 1; }
    data=$build/data/cifar10-jpeg
    [[ -d $data/train ]] || { mkdir -p "$data" && tar xzf "$tarball" -C "$data"; }
  fi
  cat >"$out/cifar.yaml" <<Y
dataset: {name: image-folder, path: $data, channels: 3, normalization: per-pixel-mean, augment: {shift: 0.1, flip: true}$cifar_subset}
model: {name: resnet20}
trainer: {$cifar_trainer, batch_size: 100, lr: 0.001, weight_decay: 0.0001, device: $device}
watermark: {bits: 64, carriers: 384, lambda: 0.3, target_class: 0, target_per_batch: 10, verify: {images: 50, repeats: 5, remote_images: 10, h: [0.001]}}
Y
  "$bin" train "$out/cifar.yaml" --out "$out/cifar.h5" 2>&1 | tee "$out/cifar-train.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || return 1
  grep -E "\] epoch [0-9]+/" "$out/cifar-train.txt" | sed 's/.*\] epoch/epoch/' >"$out/cifar-epochs.txt"
  echo "ResNet-20 GradSigns N=64 on $device: $(wc -l <"$out/cifar-epochs.txt") epochs, $(grep -E '^(test_accuracy|ber_white_box|images_per_second) ' "$out/cifar-train.txt" | tr '\n' ' ')"
}

# The limits add up to 9 minutes.
step build 200 do_build
step version 20 do_version
step cuda-tests 50 do_cuda_tests
step bench 100 do_bench
step pack 100 do_pack
step cifar 70 do_cifar

{
  echo "# gpu_check.sh ($mode mode), $(date -u +%FT%TZ)"
  echo
  echo "host $(hostname), commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown), $(($(date +%s) - t_start)) s in all"
  echo
  echo "| step | result | time | last line |"
  echo "|---|---|---|---|"
  printf '%s\n' "${step_rows[@]}"
} >"$summary"
cat "$summary"
! grep -qE "\| (FAIL|TIMEOUT)" "$summary"
