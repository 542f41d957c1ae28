#!/usr/bin/env bash
# tools/gpu_check/2_ctest_cuda.sh: every CUDA-labelled test case once (`ctest -L cuda`), streamed
# into the log as each finishes, with the output of every failure. Then, from ctest's full record
# (Testing/Temporary/LastTest.log), every "skipped: ..." line, so the summary can say why a test was
# skipped (no device, or which cuDNN status refused which combination).
#
# Parallelism: 8 test processes share the one GPU on a GPU machine (each holds a small context and
# little memory); in the dry run every core simulates. A single test is stopped after 240 s so a
# hang costs one test, not the step.
set -uo pipefail
source "$(dirname "$0")/env.sh"

if [ ! -x "$gc_build/tests/loom_tests" ]; then
  echo "step 2: $gc_build/tests/loom_tests was not built (step 1); nothing to run"
  exit 2
fi
if [ "$gc_mode" = gpu ]; then jobs=8; else jobs=$gc_jobs; fi
budget=$(gc_budget 300)
per_test=$((budget < 240 ? budget : 240))

gc_section "step 2: ctest -L cuda (-j $jobs, $per_test s per test${LOOM_SIM_SEED:+, LOOM_SIM_SEED=$LOOM_SIM_SEED})"
gc_run "$((budget - 10))" ctest --test-dir "$gc_build" -L cuda --output-on-failure --no-tests=error \
  -j "$jobs" --timeout "$per_test"
status=$?

gc_section "skip reasons (from LastTest.log)"
# The tests print the line at the start of a line (tests/support/devices.h); doctest repeats it
# indented in its MESSAGE, and ctest's own "Regex=[...]" lines are not skip reasons.
grep -h -E '^skipped: ' "$gc_build/Testing/Temporary/LastTest.log" 2>/dev/null | sort | uniq -c | sort -rn | head -40
exit "$status"
