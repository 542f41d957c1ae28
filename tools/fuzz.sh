#!/usr/bin/env bash
# tools/fuzz.sh: builds the libFuzzer harnesses (fuzz/, a CMake project of its own) and runs each
# one for a fixed time. Any crash, sanitizer report, leak, timeout (> 1 s on one input), memory
# blow-up (> 2048 MB) or broken invariant is a finding: its input is saved and the script exits 1.
#
#   tools/fuzz.sh [SECONDS]          each harness SECONDS (default 60)
#   tools/fuzz.sh --ci               the short pass CI runs (LOOM_FUZZ_CI_SECONDS per harness, default 10)
#   tools/fuzz.sh SECONDS csv vocab  only the harnesses named
#   tools/fuzz.sh --runs N [names]   each harness until it has run N inputs (e.g. 1000000), no time limit
#
# Environment: LOOM_FUZZ_BUILD (default build-fuzz) is the build folder; the corpus grows in
# $LOOM_FUZZ_BUILD/corpus/<harness> (the committed seeds in fuzz/corpus/ are read, never written),
# findings land in $LOOM_FUZZ_BUILD/findings/<harness>/<run time>/. A finding's input belongs in
# fuzz/regressions/<harness>/ once fixed (tests/io/test_fuzz_regressions.cc then runs it forever).
# clang with libFuzzer is installed with apt-get when missing (Debian/Ubuntu package `clang`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${LOOM_FUZZ_BUILD:-$root/build-fuzz}
all=(csv dataset safetensors embeddings config trainer_state vocab metadata tokenizer)

seconds=60
runs=""
if [[ $# -gt 1 && $1 == --runs && $2 =~ ^[0-9]+$ ]]; then
  runs=$2
  shift 2
elif [[ $# -gt 0 && $1 == --ci ]]; then
  seconds=${LOOM_FUZZ_CI_SECONDS:-10}
  shift
elif [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
elif [[ $# -gt 0 && $1 == -* ]]; then
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  exit 2
fi
harnesses=("$@")
[[ ${#harnesses[@]} -eq 0 ]] && harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz.sh: no harness '$h' (have: ${all[*]})" >&2; exit 2; }
done

start=$(date +%s)

# ---- clang with libFuzzer, ASan and UBSan -------------------------------------------------------
has_fuzzer() {
  command -v clang++ >/dev/null 2>&1 &&
    [[ -f "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ||
       -n "$(find "$(clang++ -print-resource-dir 2>/dev/null)/lib" -name 'libclang_rt.fuzzer*.a' 2>/dev/null | head -1)" ]]
}
if ! has_fuzzer; then
  echo "fuzz.sh: clang with libFuzzer not found; installing the Debian package clang" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq clang libomp-dev >/dev/null
  has_fuzzer || { echo "fuzz.sh: clang is installed but libclang_rt.fuzzer is missing" >&2; exit 1; }
fi

# ---- build ---------------------------------------------------------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
  gen=(); command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  CC=clang CXX=clang++ cmake -S "$root/fuzz" -B "$build" "${gen[@]}" >/dev/null
fi
targets=(); for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}" >"$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log" >&2; echo "fuzz.sh: build failed ($build/build.log)" >&2; exit 1; }
built=$(date +%s)
# One stopping rule per run: a fixed time (the default) or a fixed number of inputs (--runs).
if [[ -n $runs ]]; then
  stop=(-runs="$runs")
  echo "fuzz.sh: built in $((built - start)) s; ${runs} inputs per harness"
else
  stop=(-max_total_time="$seconds")
  echo "fuzz.sh: built in $((built - start)) s; ${seconds} s per harness"
fi

# ---- run -----------------------------------------------------------------------------------------
dict_of() {
  case $1 in
    csv | dataset) echo csv ;; safetensors) echo safetensors ;; embeddings) echo embeddings ;;
    config | trainer_state | vocab) echo json ;; metadata) echo metadata ;; tokenizer) echo tokenizer ;;
  esac
}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-14s %12s %9s %7s %7s %8s %7s  %s\n' harness executions exec/s cov ft rss_mb secs finding
for h in "${harnesses[@]}"; do
  corpus=$build/corpus/$h findings=$build/findings/$h/$(date +%Y%m%d-%H%M%S) log=$build/logs/$h.log
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  seeds=("$root/fuzz/corpus/$h")
  [[ -d $root/fuzz/regressions/$h ]] && seeds+=("$root/fuzz/regressions/$h")
  rc=0 t0=$(date +%s)
  "$build/fuzz_$h" "$corpus" "${seeds[@]}" -dict="$root/fuzz/dict/$(dict_of "$h").dict" \
    "${stop[@]}" -timeout=1 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - t0 ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  finding="-"
  if [[ $rc -ne 0 || -n $(ls -A "$findings") ]]; then
    status=1
    finding=$(find "$findings" -type f | head -1)
    [[ -z $finding ]] && finding="exit $rc, see $log"
    grep -m3 -E 'ERROR|INVARIANT|runtime error|Timeout|out-of-memory' "$log" | sed 's/^/    /' >&2 || true
  fi
  printf '%-14s %12s %9s %7s %7s %8s %7s  %s\n' "$h" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}" "$secs" "$finding"
  rmdir "$findings" 2>/dev/null || true  # keep only the folders that hold a finding
done
echo "fuzz.sh: $(( $(date +%s) - start )) s in all (build $((built - start)) s); logs in $build/logs"
[[ $status -eq 0 ]] || echo "fuzz.sh: FINDINGS above: copy each input to fuzz/regressions/<harness>/ and fix the parser" >&2
exit $status
