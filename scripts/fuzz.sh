#!/usr/bin/env bash
# Builds the fuzz targets (<reader>_fuzz, one per reader of fuzz/readers.h; the CMake preset fuzz:
# clang, ASan + UBSan, libFuzzer, into build-fuzz/) and runs each for a
# while on its corpus: seeds written by fuzz_seeds (valid files from the tests' and signsweep's own writers)
# plus everything earlier runs kept (here, and in the repository: tests/fuzz_corpus/<reader>.tar.xz, scripts/fuzz-keep.sh),
# with the format's dictionary (fuzz/dict). Findings (crash, leak, hang past
# -timeout, allocation past -malloc_limit_mb) land in build-fuzz/fuzz/findings/<target>/; a table of
# executions per second, coverage, when it last grew, and the corpus's own edges at the run's start, half and end
# (the plateau) in build-fuzz/fuzz/report.md.
#   bash scripts/fuzz.sh [seconds per target, default 300] [reader ...]   (all readers when none is named;
#                                                                         0 seconds: the report of the last runs)
# Runs `nproc` targets at a time (SIGNSWEEP_FUZZ_JOBS to change; fewer targets share the cores). Each finding is re-run and attributed to the
# code its report points at; exit 1 when any is in signsweep's (those in a library are listed, docs/hardening.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
bash scripts/setup.sh --clang >/dev/null
cmake --workflow --preset fuzz >/dev/null
out=$PWD/build-fuzz/fuzz
# The hang watchdog works (tests/fuzz/hang_watchdog_test.sh, a few seconds) before an hour is spent relying on it.
ctest --test-dir build-fuzz -L fuzz --output-on-failure >/dev/null ||
  { echo "fuzz.sh: the fuzz targets' hang watchdog failed its test (ctest --test-dir build-fuzz -L fuzz)" >&2; exit 1; }
# The readers (fuzz/readers.h) and their dictionaries (fuzz/dict/<name>.dict; none: no magic words).
declare -A dict=([idx]=idx [cifar10_binary]=none [svhn_mat]=mat [image_folder]=image [npy]=npy [keras_hdf5]=hdf5
                 [keras_config]=json [checkpoint]=hdf5 [store_index]=hdf5 [store_trial]=hdf5 [store_catalog]=none [trial_yaml]=yaml
                 [sweep_yaml]=yaml [messages]=json)
targets=("$@")
((${#targets[@]})) || targets=(idx cifar10_binary svhn_mat image_folder npy keras_hdf5 keras_config checkpoint store_index
                               store_trial store_catalog trial_yaml sweep_yaml messages)
rm -rf "$out/seeds" && "$out/fuzz_seeds" "$out/seeds" "$PWD" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# An input that runs this long is a hang: the slowest valid seeds (a store's trial, a Keras config) take 8 ms under
# ASan, and a hang inside HDF5 costs the run this long each time it is found again. The targets' own watchdog
# (fuzz/hang_watchdog.h) stops an input past hang_ms of CPU time, 30 times the slowest seed. libFuzzer's
# -timeout (whole seconds, looked at every limit/2 + 1 s, so 1 to 2 s) stays behind it for a hang that burns no CPU.
export SIGNSWEEP_FUZZ_HANG_MS=250 hang_s=1

run_target() {
  local t=$1 d=$2
  mkdir -p "$out/corpus/$t" "$out/findings/$t"
  cp -n "$out/seeds/$t"/* "$out/corpus/$t"/ 2>/dev/null || true
  # The corpus that runs on other machines grew, kept in the repository (scripts/fuzz-keep.sh); its files keep
  # the time they were archived, so they count as the corpus at this run's start.
  if [[ -f tests/fuzz_corpus/$t.tar.xz ]]; then tar -xJf "tests/fuzz_corpus/$t.tar.xz" -C "$out/corpus/$t" --skip-old-files; fi
  # Fork mode: fuzzing processes (forks_per_target at a time) restarted after every finding (each is saved, then
  # attributed below) so that a crash or hang inside a library (HDF5's, docs/hardening.md) does not end the run.
  # Findings: a sanitizer report, an uncaught exception, a leak, a hang (above), or an allocation past
  # 2 GiB: far above what any valid seed needs, far below what a crafted header would ask for without
  # signsweep's limits (common/limits.h).
  "$out/${t}_fuzz" "$out/corpus/$t" $([[ $d == none ]] || echo "-dict=$PWD/fuzz/dict/$d.dict") -max_total_time="$seconds" \
    -fork="$forks_per_target" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout="$hang_s" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -artifact_prefix="$out/findings/$t/" >"$out/$t.log" 2>&1 || true
}
export -f run_target
# The cores (SIGNSWEEP_FUZZ_JOBS, or all) go to the targets, a target at a time per core; fewer targets than cores
# each get their share of fuzzing processes (one target on two cores: -fork=2).
cores=${SIGNSWEEP_FUZZ_JOBS:-$(nproc)}
forks_per_target=$((cores > ${#targets[@]} ? cores / ${#targets[@]} : 1))
export out seconds forks_per_target
if ((seconds > 0)); then  # 0: only the report of the last runs (and the findings re-run)
  for t in "${targets[@]}"; do echo "$t ${dict[$t]}"; done |
    xargs -P "$cores" -L 1 bash -c 'run_target "$@"' _
fi

# Whose code a finding is in: the first frame of its report past the sanitizer, libFuzzer, libc and libstdc++
# (the allocator, memcpy, the throw): "signsweep" when that frame is in this source tree, else the library;
# nothing when it no longer reproduces. Kept in $out/triage/<target>/<code>/<finding>, <code> naming hang_s and
# the source the targets are built from, so a report re-runs only the findings not yet attributed with this code
# (a hang costs hang_s); a commit that changes no code (the README) relinks the targets (build_info) but keeps
# the attributions.
code_paths=(CMakeLists.txt CMakePresets.json cmake common comm orchestrator storage workers fuzz
            tests/sanitizers/lsan.supp)  # the suppressions decide whether a leak is a finding at all
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  code=$({ echo "hang_s=$hang_s hang_ms=$SIGNSWEEP_FUZZ_HANG_MS"; git ls-tree -r HEAD -- "${code_paths[@]}"; git diff HEAD -- "${code_paths[@]}"
           git ls-files --others --exclude-standard -z -- "${code_paths[@]}" | xargs -0 -r sha1sum; } | sha1sum | cut -c1-12)
else  # a source tarball: the build's time stands for the code
  code=build-$(stat -c %Y "$out/fuzz_seeds")
fi
export code
triage() {
  local t=$1 artifact=$2
  local known=$out/triage/$t/$code/$(basename "$artifact")
  [[ -f $known ]] && return
  mkdir -p "$(dirname "$known")"
  # A hang that burns CPU stops at the watchdog's hang_ms. For one that does not, libFuzzer's alarm ticks every
  # hang_s/2 + 1 s from the target's start, so its first tick comes just before a hang has run hang_s and a rerun
  # took 2 s; one more SIGALRM at hang_s + 0.2 s (the start, a margin) makes the first look catch it (1.3 s).
  # Were it early, libFuzzer's own tick would still come.
  local report hang=false rerun=("$out/${t}_fuzz" -runs=1 -timeout="$hang_s")  # the finding alone: + limits, input
  if [[ $(basename "$artifact") == timeout-* ]]; then
    hang=true
    rerun=(timeout -s ALRM "$(awk -v h="$hang_s" 'BEGIN { print h + 0.2 }')" "${rerun[@]}")
  fi
  report=$("${rerun[@]}" -rss_limit_mb=2048 -malloc_limit_mb=2048 "$artifact" 2>&1 || true)
  # Past -rss_limit_mb libFuzzer prints the live heap's largest allocators, not the culprit: rerun with a
  # per-allocation limit far above what a valid seed allocates at once, to stop at the allocation that grew it.
  if [[ $report == *"out-of-memory (used:"* ]]; then
    report=$("${rerun[@]}" -rss_limit_mb=4096 -malloc_limit_mb=256 "$artifact" 2>&1 || true)
  fi
  local where
  where=$(attribute <<<"$report")
  # The watchdog stops an input wherever its CPU time ran out: in a loop, that is the loop; in an input that is
  # only slow, wherever it had got to (one of store_index's spends 0.2 s in HDF5 zeroing 352 MB, then ran out in
  # signsweep's error message). A timeout blamed on signsweep is rerun at 4 times the watchdog's limit: one that
  # then ends is slow, not a loop, and is reported so; one that does not is attributed where it stopped then.
  if [[ $where == signsweep ]] && $hang; then
    if report=$(SIGNSWEEP_FUZZ_HANG_MS=$((4 * SIGNSWEEP_FUZZ_HANG_MS)) "${rerun[@]}" -rss_limit_mb=2048 \
                -malloc_limit_mb=2048 "$artifact" 2>&1); then
      where="nothing: slow, it ends alone within 4 times the limit"
    else
      where=$(attribute <<<"$report")
    fi
  fi
  echo "$where" >"$known.part"
  mv "$known.part" "$known"
}
# Whose code a sanitizer's or libFuzzer's report (stdin) points at: the first frame past the sanitizers' and
# libFuzzer's runtimes (named, or frames of the target's own module with no source line: the runtimes linked into
# it), the watchdog, libc and libstdc++; "signsweep" for a source file of this tree, else the shared library.
attribute() {
  awk -v src="$PWD/" '
      /^ +#[0-9]+ 0x/ {
        if ($0 ~ /__sanitizer|__asan|__interceptor|__lsan|__ubsan|fuzzer::|LLVMFuzzer|_fuzz\+0x[0-9a-f]+\)|fuzz\/hang_watchdog\.cc|libc\.so|libstdc\+\+|libc-start|nptl|in (malloc|calloc|realloc|memcpy|memmove|memset|free|abort|raise|operator new)/) next
        if (index($0, src) || $0 ~ /in signsweep::/) { print "signsweep"; exit }
        if (match($0, /\/lib[^\/ ]*\.so[.0-9]*/)) { print substr($0, RSTART + 1, RLENGTH - 1); exit }
      }'
}
export -f attribute
export -f triage
for t in "${targets[@]}"; do
  find "$out/triage/$t" -mindepth 1 -maxdepth 1 ! -name "$code" -exec rm -rf {} + 2>/dev/null || true  # other code's
  for artifact in "$out/findings/$t"/*; do if [[ -f $artifact ]]; then echo "$t $artifact"; fi; done
done | xargs -r -P "${SIGNSWEEP_FUZZ_JOBS:-$(nproc)}" -L 1 bash -c 'triage "$@"' _

# The corpus's own coverage: the edges reached by the corpus files that existed at a moment (by their mtime: a
# run only adds files), in one pass in this process (-runs=0). Fork mode's "cov" is another count: what this
# run's jobs reached (about three times as many edges for the HDF5-backed targets), which grows too when a job
# reaches again what the corpus already covered. The plateau (docs/hardening.md) is judged on the corpus's edges.
corpus_edges() {
  local t=$1 until=$2 dir edges
  dir=$(mktemp -d)
  find "$out/corpus/$t" -type f ! -newermt "@$until" -exec cp -t "$dir" {} +
  edges=$("$out/${t}_fuzz" -runs=0 -timeout="$hang_s" -rss_limit_mb=4096 "$dir" 2>&1 |
          grep -m1 -oE 'INITED cov: [0-9]+' | grep -oE '[0-9]+$' || true)
  rm -rf "$dir"
  echo "${edges:-?}"
}

report=$out/report.md
found=0
{
  echo "| reader | time | executions | exec/s | coverage (edges) | features | last new coverage | second half's growth (edges, features) | corpus | corpus edges at start, half, end (second half) | findings (kind in whose code) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for t in "${targets[@]}"; do
    # fork mode's last status line: "#<execs>: cov: <edges> ft: <features> corp: <units> exec/s <rate> ..."
    last=$(grep -E '^#[0-9]+: cov:' "$out/$t.log" | tail -1 || true)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    rate=$(grep -oE 'exec/s:? [0-9]+' <<<"$last" | cut -d' ' -f2 || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2 || true)
    corpus=$(find "$out/corpus/$t" -type f | wc -l)
    ran=$(grep -oE 'time: [0-9]+s' <<<"$last" | cut -d' ' -f2 || true)
    # The plateau: when coverage (edges or features) last grew in this run, and how much its second half found
    # (docs/hardening.md: plateaued under 0.5% of edges). The corpus of earlier runs is loaded first, so growth after the
    # first status line is what this run found.
    plateau=$(grep -E '^#[0-9]+: cov:' "$out/$t.log" | awk '
      { for (i = 1; i < NF; ++i) { if ($i == "cov:") c = $(i + 1); if ($i == "ft:") f = $(i + 1); if ($i == "time:") s = $(i + 1) + 0 }
        if (NR > 1 && (c != edges[NR - 1] || f != features[NR - 1])) last = s "s"
        at[NR] = s; edges[NR] = c; features[NR] = f }
      END { if (NR == 0) exit
            h = 1; for (i = 1; i <= NR; ++i) if (at[i] <= at[NR] / 2) h = i
            printf "%s | +%d (%.1f%%), +%d (%.1f%%)", (last == "" ? "none" : last), edges[NR] - edges[h],
                   100 * (edges[NR] - edges[h]) / edges[h], features[NR] - features[h], 100 * (features[NR] - features[h]) / features[h] }' || true)
    # The run's start, half and end: its log was last written at its end, and "time:" is how long it ran.
    corpus_growth="?"
    if [[ $ran =~ ^[0-9]+s$ ]]; then
      run_end=$(stat -c %Y "$out/$t.log")
      run_start=$((run_end - ${ran%s}))
      c0=$(corpus_edges "$t" "$run_start")
      ch=$(corpus_edges "$t" $((run_start + ${ran%s} / 2)))
      c1=$(corpus_edges "$t" "$run_end")
      corpus_growth=$(awk -v a="$c0" -v h="$ch" -v b="$c1" 'BEGIN {
        if (h + 0 > 0 && b + 0 > 0) printf "%s, %s, %s (%+d, %+.1f%%)", a, h, b, b - h, 100 * (b - h) / h; else print a ", " h ", " b }')
    fi
    findings=()
    for artifact in "$out/findings/$t"/*; do
      [[ -f $artifact ]] || continue
      # Empty: the input alone no longer fails. Either it was fixed since it was found, or (an oom) the fuzzing
      # process had grown past -rss_limit_mb over many inputs (libFuzzer then blames the input it is running).
      where=$(cat "$out/triage/$t/$code/$(basename "$artifact")")
      findings+=("$(basename "$artifact" | cut -d- -f1) in ${where:-nothing when rerun alone}")
      [[ $where == signsweep ]] && found=1
    done
    summary=$( ((${#findings[@]})) && printf '%s\n' "${findings[@]}" | sort | uniq -c | sed -E 's/^ *([0-9]+) /\1 /' | paste -sd ';' || echo none)
    echo "| $t | ${ran:-?} | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${plateau:-? | ?} | $corpus | $corpus_growth | $summary |"
  done
} >"$report"
cat "$report"
exit $found
