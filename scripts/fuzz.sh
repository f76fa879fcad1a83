#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz, clang 16, in build-fuzz/) and runs
# each one from its checked-in seeds (test/fuzz/corpus/TARGET) plus what
# earlier runs found (build-fuzz/corpus/TARGET).
#
#   scripts/fuzz.sh --seconds 4                  every target for 4 s (CI)
#   scripts/fuzz.sh --runs 10000000              every target for 10 M inputs (the long run)
#   scripts/fuzz.sh --runs 10000000 --max-seconds 1800 --parallel 2
#                                                each stops at 10 M inputs or 30 min, two at a time
#   scripts/fuzz.sh --seconds 60 cron selector   only the targets named
#
# A target that finds a crash, leak, UBSan report, timeout or uncaught
# exception stops; its input is in build-fuzz/artifacts/TARGET/ and the
# script fails. Replay one with build-fuzz/fuzz/TARGET_fuzzer FILE.
# The figures of each run (executions, per second, seconds, corpus files)
# are added to build-fuzz/logs/summary.txt, the fuzzer's output goes to
# build-fuzz/logs/TARGET.log. HERD_FUZZ_BUILD_DIR names another build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HERD_FUZZ_BUILD_DIR:-build-fuzz}

args=("$@")
seconds="" runs="" parallel=1
targets=()
while (( $# )); do
  case "$1" in
    --seconds|--max-seconds) seconds=${2:?"$1 needs a number"}; shift 2 ;;
    --runs) runs=${2:?"$1 needs a number"}; shift 2 ;;
    --parallel) parallel=${2:?"$1 needs a number"}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown flag $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ -z "$seconds" && -z "$runs" ]]; then seconds=4; fi
jobs=${HERD_JOBS:-2}

scripts/install-deps.sh

echo "== build the fuzz targets ($build/)"
# -O1 and line tables only, as fuzzing builds usually are: half the compile
# time of -O2 -g, and stack traces still name every line.
CC=clang-16 CXX=clang++-16 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DHERD_BUILD_FUZZ=ON -DHERD_BUILD_TESTS=OFF -DHERD_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target fuzzers

if (( ${#targets[@]} == 0 )); then mapfile -t targets < <(grep -v '^$' "$build/fuzzers.txt"); fi

# Long runs give way to other work on the machine.
nice=()
[[ -n "$runs" ]] && nice=(nice -n 10)

# Stack traces with function names and lines.
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" && -x /usr/bin/llvm-symbolizer-16 ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-16
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/logs"
summary=$build/logs/summary.txt
row() { printf '%-14s %12s %10s %8s %8s  %s\n' "$@"; }

# Runs one target; prints its summary row (and what went wrong).
run() {
  local t=$1
  local bin=$build/fuzz/${t}_fuzzer seeds=test/fuzz/corpus/$t work=$build/corpus/$t
  local artifacts=$build/artifacts/$t/ log=$build/logs/$t.log
  mkdir -p "$work" "$artifacts" "$seeds"
  local flags=(-timeout=10 -rss_limit_mb=2560 -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts")
  [[ -f test/fuzz/$t.dict ]] && flags+=(-dict="test/fuzz/$t.dict")
  [[ -n "$seconds" ]] && flags+=(-max_total_time="$seconds")
  [[ -n "$runs" ]] && flags+=(-runs="$runs")
  local start result=ok
  start=$(date +%s)
  if ! "${nice[@]}" "$bin" "${flags[@]}" "$work" "$seeds" >"$log" 2>&1; then
    result="FAILED (see $log and $artifacts)"
  fi
  local secs execs rate corpus
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(( $(find "$work" -type f | wc -l) + $(find "$seeds" -type f | wc -l) ))
  row "$t" "${execs:--}" "${rate:--}" "$secs" "$corpus" "$result" | tee -a "$summary"
  if [[ "$result" != ok ]]; then
    grep -a -m1 -A20 -E '_fuzzer: |^==[0-9]+==ERROR|runtime error|uncaught|terminate called|ParseDictionary' "$log" \
      || tail -20 "$log"
    return 1
  fi
}

{ echo "# $(date -u +%FT%TZ) scripts/fuzz.sh ${args[*]}"; row target executions exec/s seconds corpus result; } | tee -a "$summary"
for t in "${targets[@]}"; do
  [[ -x $build/fuzz/${t}_fuzzer ]] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
  rm -f "$build/logs/$t.failed"
done
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= parallel )); do wait -n || true; done
  { run "$t" || touch "$build/logs/$t.failed"; } &
done
wait
failed=0
for t in "${targets[@]}"; do [[ -e "$build/logs/$t.failed" ]] && failed=1; done
exit $failed
