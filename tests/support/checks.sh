# Helpers the shell tests share: source it, then `check`, and print "$passed passed, $failed failed" at the end.
passed=0
failed=0
# check <name> <condition as a bash expression>
check() {
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: $2"; fi
}
# wait_for <file> <extended regex> <seconds>: until the file matches (1 if it never does)
wait_for() {
  for _ in $(seq 1 $(($3 * 10))); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# pid_of_rank <rank> <command line pattern>: the process of that MPI rank whose command line matches
pid_of_rank() {
  for p in $(pgrep -f "$2"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; fi
  done
}
