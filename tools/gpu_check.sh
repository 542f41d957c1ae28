#!/usr/bin/env bash
# tools/gpu_check.sh: everything a GPU can prove about loom, in steps that fit a short GPU lease.
#
#   bash tools/gpu_check.sh            # every step in order: 0 1 2 3 4 5
#   bash tools/gpu_check.sh 2          # one step (or several: `gpu_check.sh 2 5`)
#   LOOM_GPU_CHECK_SIM=1 bash tools/gpu_check.sh   # the dry run here, against the simulator build
#
# Steps (tools/gpu_check/N_*.sh, each runnable alone; tools/gpu_check/README.md explains them and
# gives the device-tool command):
#   0 probe     the GPU, driver, architecture, nvcc, cuDNN and PyTorch
#   1 build     configure for the detected architecture only; ninja
#   2 ctest     ctest -L cuda, once
#   3 selftest  loom doctor, loom selftest, a short `loom train` + `loom eval` on the demo corpus
#   4 bench     LSTM and conv1d benches at the target points, PyTorch alongside, short fixed budgets
#   5 summary   one dated markdown page from the logs
#
# Each step runs under `timeout` (LOOM_GPU_CHECK_BUDGET_<N> seconds, 300 by default, 60 for the
# probe and the summary) and appends its output to <out>/<N>_<name>.log as it goes, so a step killed
# at its limit still leaves what it measured; this script appends one line per step with its exit
# status and time, and the chain goes on (a later step that needs an earlier one's output says so).
# LOOM_GPU_CHECK_TOTAL (seconds) caps the whole chain: each step gets at most what is left of it,
# less a reserve for the summary, which always runs last. The output folder: see tools/gpu_check/env.sh
# ($OUT/gpu_check under the device tool, else bench/results/<date>-gpu-check/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_check/env.sh"

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(0 1 2 3 4 5)
total=${LOOM_GPU_CHECK_TOTAL:-0}  # 0: no cap
reserve=20                        # seconds kept for the summary when the total is capped
chain_start=$(date +%s)
status=0

script_of() { ls "$here/gpu_check/$1"_*.sh 2>/dev/null | head -1; }
log_of() {
  case $1 in
    0) echo 0_probe.log ;; 1) echo 1_build.log ;; 2) echo 2_ctest.log ;;
    3) echo 3_selftest.log ;; 4) echo 4_bench.log ;; *) echo "" ;;
  esac
}

echo "loom gpu_check: mode $gc_mode, LOOM_CUDA=$gc_shape, steps ${steps[*]}, output $gc_out"
for n in "${steps[@]}"; do
  script=$(script_of "$n")
  if [ -z "$script" ]; then
    echo "no step $n (steps are 0..5)" >&2
    exit 2
  fi
  name=$(basename "$script" .sh)
  eval "limit=\${LOOM_GPU_CHECK_BUDGET_$n:-}"
  if [ -z "$limit" ]; then
    case $n in 0 | 5) limit=60 ;; *) limit=300 ;; esac
  fi
  if [ "$total" -gt 0 ]; then
    left=$((total - ($(date +%s) - chain_start)))
    [ "$n" != 5 ] && left=$((left - reserve))
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 15 ]; then
      echo "[gpu_check] step $n ($name): not run, ${left} s left of LOOM_GPU_CHECK_TOTAL=$total"
      status=1
      continue
    fi
  fi

  log=$(log_of "$n")
  start=$(date +%s)
  echo "[gpu_check] step $n ($name): limit $limit s, started $(date -u +%H:%M:%SZ)"
  if [ -n "$log" ]; then
    # A fresh log per run of a step; JSON lines and the summary are the steps' own files.
    : > "$gc_out/$log"
    LOOM_GPU_CHECK_STEP_BUDGET=$limit timeout -k 10 "$limit" bash "$script" >> "$gc_out/$log" 2>&1
    rc=$?
    line="[gpu_check] step $n ($name): exit $rc in $(($(date +%s) - start)) s (limit $limit s)"
    echo "$line" >> "$gc_out/$log"
    echo "$line"
    # The last lines of the step, so a reader of the console sees how it ended.
    grep -v '^\[gpu_check\]' "$gc_out/$log" | tail -4 | sed 's/^/    /'
  else
    LOOM_GPU_CHECK_STEP_BUDGET=$limit timeout -k 10 "$limit" bash "$script"
    rc=$?
    echo "[gpu_check] step $n ($name): exit $rc in $(($(date +%s) - start)) s (limit $limit s)"
  fi
  [ "$rc" = 0 ] || status=1
done

# The summary on the console too, where the device tool shows the last 12,000 characters.
page=$(ls "$gc_out"/summary-*.md 2>/dev/null | tail -1)
[ -n "$page" ] && [[ " ${steps[*]} " == *" 5 "* ]] && cat "$page"
exit "$status"
