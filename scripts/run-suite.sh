#!/usr/bin/env bash
# Runs one results suite of docs/results/ and writes its reports there: every sweep of the suite with
# `signsweep run` into runs/<suite>/<sweep>/ (a relaunch resumes), then `signsweep report --plots` into
# docs/results/<suite>/<sweep>/, and docs/results/<suite>/RUN.md with the commands, the binary's version,
# the machine and the wall times, all read from the run (nothing typed in).
#   bash scripts/run-suite.sh fashion-mnist | cifar10-cpu | released-model
# SIGNSWEEP_BIN: the binary (default build/signsweep). SIGNSWEEP_LAUNCH: a launcher put before every `run`
# (e.g. "mpirun --oversubscribe -np 3 --bind-to none": rank 0 schedules, two workers), recorded in RUN.md as
# the rest of the command. The CIFAR-10 suites unpack
# ../shared/data/cifar10-jpeg.tar.gz into data/cifar10-jpeg/ (ignored by git) unless it is there.
# Pin it to cores with taskset to keep others free: `taskset -c 1 bash scripts/run-suite.sh ...`.
set -euo pipefail
# The whole script is one function, called on the last line: bash has then read all of it before anything
# runs, so editing this file while a suite runs (for an hour) cannot change what the run does.
main() {
cd "$(dirname "$0")/.."
suite=${1:?usage: run-suite.sh fashion-mnist|cifar10-cpu|released-model}
bin=${SIGNSWEEP_BIN:-build/signsweep}
launch=${SIGNSWEEP_LAUNCH:+$SIGNSWEEP_LAUNCH }
out=docs/results/$suite
store_root=runs/$suite

need_cifar10_jpeg() {
  [[ -d data/cifar10-jpeg/train ]] && return
  local tarball=../shared/data/cifar10-jpeg.tar.gz
  [[ -f $tarball ]] || { echo "run-suite: $tarball not found: unpack the CIFAR-10 JPEG copy into data/cifar10-jpeg/" >&2; exit 2; }
  mkdir -p data/cifar10-jpeg
  tar xzf "$tarball" -C data/cifar10-jpeg
}

declare -a steps=()   # "name|command": run in order, each timed
case $suite in
  fashion-mnist)
    for s in robustness capacity lambda; do
      steps+=("$s|$launch$bin run experiments/fashion-mnist/$s.yaml --out $store_root/$s")
    done ;;
  cifar10-cpu)
    need_cifar10_jpeg
    steps+=("accuracy-cost|$launch$bin run experiments/cifar10/cpu.yaml --out $store_root/accuracy-cost") ;;
  released-model)
    need_cifar10_jpeg
    steps+=("import|$bin import --keras ../shared/reference/gradsigns-cifar10-64bit/model.hdf5 --keys ../shared/reference/gradsigns-cifar10-64bit --data data/cifar10-jpeg --out runs/released-model.h5")
    steps+=("verify|$bin verify runs/released-model.h5")
    steps+=("attacks|$launch$bin run experiments/released-model/attacks.yaml --out $store_root/attacks") ;;
  *) echo "run-suite: unknown suite '$suite' (fashion-mnist, cifar10-cpu, released-model)" >&2; exit 2 ;;
esac

mkdir -p "$out" "$store_root"
log=$out/RUN.md.tmp
{
  echo "# How the $suite results were made"
  echo
  echo "Written by \`scripts/run-suite.sh $suite\` (regenerate them with that command; a relaunch resumes the stores)."
  echo
  echo "- binary: \`$("$bin" --version | head -1)\`"
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) core(s) usable by the run, $(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "| step | command | wall time | note |"
  echo "|---|---|---|---|"
} > "$log"

for step in "${steps[@]}"; do
  name=${step%%|*}
  cmd=${step#*|}
  store=$store_root/$name
  note=""
  [[ -d $store ]] && note="resumed an existing store"
  echo "run-suite: $name: $cmd" >&2
  start=$(date +%s)
  if [[ $name == import || $name == verify ]]; then  # their figures on stdout, kept beside the report
    $cmd | tee "$out/$name.txt"
  else
    $cmd
  fi
  seconds=$(( $(date +%s) - start ))
  echo "| $name | \`$cmd\` | $((seconds / 60)) min $((seconds % 60)) s | $note |" >> "$log"
  if [[ -d $store ]]; then
    rm -rf "${out:?}/$name"
    "$bin" report "$store" --plots "$out/$name"
  fi
done
echo >> "$log"
echo "Finished $(date -u +%Y-%m-%dT%H:%M:%SZ)." >> "$log"
mv "$log" "$out/RUN.md"
echo "run-suite: $out/RUN.md" >&2
}
main "$@"
