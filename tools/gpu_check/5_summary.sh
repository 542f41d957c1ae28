#!/usr/bin/env bash
# tools/gpu_check/5_summary.sh: one dated markdown page from the step logs in the output folder:
# the machine, each step's exit status and time (the lines tools/gpu_check.sh appends to every
# log), the build's verdict, ctest's counts with every failure and skip reason, the selftest and
# training verdicts, and the bench tables. Reads only the logs, so it runs after any subset of the
# steps, or after a step was killed at its limit. Replaces an earlier summary in the same folder.
set -uo pipefail
source "$(dirname "$0")/env.sh"

stamp=$(date -u +%Y-%m-%dT%H%MZ)
rm -f "$gc_out"/summary-*.md
page=$gc_out/summary-$stamp.md
log() { echo "$gc_out/$1"; }

# fenced FILE PATTERN [MAX]: the lines of FILE matching PATTERN in a code block (MAX lines).
fenced() {
  local hits
  hits=$(grep -E -- "$2" "$1" 2>/dev/null | head -"${3:-40}")
  printf '```\n%s\n```\n' "${hits:-(nothing)}"
}

{
  gpu=$(grep -m1 -E '^device ' "$(log 0_probe.log)" 2>/dev/null | cut -d' ' -f2-)
  if [ "$gc_mode" = sim ]; then what="dry run (LOOM_CUDA=$gc_shape, no GPU)"; else what="${gpu:-GPU unknown}"; fi
  echo "# loom gpu_check, $stamp: $what"
  echo
  echo "Written by tools/gpu_check/5_summary.sh from the logs beside it."
  echo
  fenced "$(log 0_probe.log)" '^(mode|commit|host|architecture|Cuda compilation|torch|from PyTorch|LD_LIBRARY_PATH|NVIDIA|name,)' 20

  echo
  echo "## Steps"
  echo
  echo "| step | exit | seconds | limit |"
  echo "|---|--:|--:|--:|"
  for f in 0_probe 1_build 2_ctest 3_selftest 4_bench; do
    line=$(grep -h '^\[gpu_check\] step' "$(log $f.log)" 2>/dev/null | tail -1)
    if [ -z "$line" ]; then echo "| $f | not run | | |"; continue; fi
    # [gpu_check] step 2 (2_ctest_cuda): exit 0 in 123 s (limit 300 s)
    read -r rc secs limit <<<"$(sed -E 's/.*exit ([0-9]+) in ([0-9]+) s \(limit ([0-9]+) s\).*/\1 \2 \3/' <<<"$line")"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && rc="$rc (timed out)"
    echo "| $f | $rc | $secs | $limit |"
  done

  echo
  echo "## Build"
  echo
  fenced "$(log 1_build.log)" '^(build:|[a-z_0-9/]+: (built|NOT BUILT)|  .*(cudnn|cublas|cudart|not found)|CMAKE_CUDA_ARCH|LOOM_CUDA|CUDNN_)' 30
  errors=$(grep -c -E 'error:|FAILED:' "$(log 1_build.log)" 2>/dev/null)
  if [ "${errors:-0}" -gt 0 ]; then
    echo "First compiler errors:"
    fenced "$(log 1_build.log)" 'error:|FAILED:' 20
  fi

  echo
  echo "## ctest -L cuda"
  echo
  fenced "$(log 2_ctest.log)" 'tests passed|tests failed|Total Test time|\(Failed\)|\(Timeout\)|\(SEGFAULT\)|\(Subprocess aborted\)|\*\*\*Exception|\(Skipped\)|^ctest: ' 60
  echo "Skip reasons (count, line):"
  awk '/^==== skip reasons/ {on = 1; next} on && /^\[gpu_check\]/ {on = 0} on && NF' "$(log 2_ctest.log)" 2>/dev/null \
    | sed 's/^/    /' | head -30

  echo
  echo "## Selftest and training"
  echo
  fenced "$(log 3_selftest.log)" 'PASS|FAIL|[Ee]poch|accuracy|macro|micro|^\[gc\]|step:' 40

  echo
  echo "## Benches"
  echo
  if [ -f "$(log 4_bench.log)" ]; then
    grep -E '^(\||==== step 4|\[gc\]|# )' "$(log 4_bench.log)" | grep -v '^==== ' | head -200
  else
    echo "(not run)"
  fi
  echo
  echo "Raw points: 4_loom.jsonl, 4_torch.jsonl (one JSON object per point)."
} > "$page"
echo "summary written to $page"
