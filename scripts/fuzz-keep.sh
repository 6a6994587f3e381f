#!/usr/bin/env bash
# Keeps the corpus a fuzz run grew (build-fuzz/fuzz/corpus/<reader>/, scripts/fuzz.sh) in the repository, as
# tests/fuzz_corpus/<reader>.tar.xz: each machine starts with an empty build-fuzz/, and a reader whose inputs
# take HDF5 a second or more to refuse needs hours to plateau, longer than one sitting. scripts/fuzz.sh unpacks
# it into the corpus before each run. The corpus is minimized first (libFuzzer's -merge=1: the fewest files that
# keep every feature), so the archive keeps the coverage at a fraction of the files.
#   bash scripts/fuzz-keep.sh <reader> ...
set -euo pipefail
cd "$(dirname "$0")/.."
(($#)) || { echo "usage: bash scripts/fuzz-keep.sh <reader> ..." >&2; exit 2; }
out=$PWD/build-fuzz/fuzz
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
mkdir -p tests/fuzz_corpus
for t in "$@"; do
  [[ -x $out/${t}_fuzz && -d $out/corpus/$t ]] || { echo "fuzz-keep.sh: no target or corpus for '$t' (run scripts/fuzz.sh first)" >&2; exit 2; }
  minimized=$(mktemp -d)
  "$out/${t}_fuzz" -merge=1 -timeout=1 -rss_limit_mb=4096 "$minimized" "$out/corpus/$t" >"$out/$t.merge.log" 2>&1
  # The files only, no "./" entry: unpacked, that would give the corpus folder the mode of a mktemp folder.
  (cd "$minimized" && find . -type f -printf '%f\n' |
     tar -cJf "$OLDPWD/tests/fuzz_corpus/$t.tar.xz" --sort=name --owner=0 --group=0 --numeric-owner -T -)
  echo "$t: $(find "$out/corpus/$t" -type f | wc -l) files -> $(find "$minimized" -type f | wc -l) kept," \
       "$(du -k "tests/fuzz_corpus/$t.tar.xz" | cut -f1) KiB"
  rm -rf "$minimized"
done
