#!/usr/bin/env bash
# tools/gpu_check/1_build.sh: configure for this GPU's architecture only (one SASS target compiles
# in a fraction of the default 80;90) and build with every core. The header-only dependencies come
# from third_party_headers/ (tools/stage_headers.sh, run beforehand on a machine with the Debian
# packages) because the GPU machine has no package manager.
#
# Order: the test binary and `loom` first, then everything else (the benches), each with `-k 0` so
# one broken file does not stop the rest; a step killed at its limit leaves a build that the next
# run of this step continues. Ends with the loader's view of the binaries: a cuDNN or cuBLAS that
# `ldd` cannot resolve is found here, not as a failed test.
set -uo pipefail
source "$(dirname "$0")/env.sh"

budget=$(gc_budget 300)
start=$(date +%s)
# left RESERVE: the seconds of the budget not yet spent, less RESERVE for what follows (at least 10).
left() { local l=$((budget - ($(date +%s) - start) - $1)); echo $((l < 10 ? 10 : l)); }

gc_section "step 1: configure (LOOM_CUDA=$gc_shape${gc_arch:+, architecture $gc_arch})"
if [ ! -f third_party_headers/doctest/doctest.h ] && [ ! -f /usr/include/doctest/doctest.h ]; then
  echo "doctest is missing: run tools/stage_headers.sh where apt works and carry third_party_headers"
  exit 2
fi
args=(-S . -B "$gc_build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DLOOM_CUDA=$gc_shape")
[ -n "$gc_arch" ] && args+=("-DCMAKE_CUDA_ARCHITECTURES=$gc_arch")
# The exact files, not a prefix: the wheel's include/ and lib/ need not share one root.
[ -n "$gc_cudnn_library" ] && args+=("-DCUDNN_INCLUDE_DIR=$gc_cudnn_include" "-DCUDNN_LIBRARY=$gc_cudnn_library")
gc_run "$(left 15)" cmake "${args[@]}" || exit 1
grep -E '^(CMAKE_CUDA_ARCHITECTURES|LOOM_CUDA|CUDNN_INCLUDE_DIR|CUDNN_LIBRARY):' "$gc_build/CMakeCache.txt"

gc_section "step 1: build (ninja, $gc_jobs jobs)"
# 15 s kept for the loader report below.
gc_run "$(left 15)" cmake --build "$gc_build" -j "$gc_jobs" --target loom_tests loom -- -k 0
status=$?
if [ "$(left 15)" -gt 10 ]; then
  gc_run "$(left 15)" cmake --build "$gc_build" -j "$gc_jobs" -- -k 0 || status=1
else
  echo "no time left for the remaining targets (benches)"
  status=1
fi

gc_section "what the loader resolves"
for bin in tests/loom_tests loom bench_lstm bench_conv1d; do
  if [ -x "$gc_build/$bin" ]; then
    echo "$bin: built"
    ldd "$gc_build/$bin" | grep -E 'cudnn|cublas|cudart|not found' | sed 's/^/  /'
  else
    echo "$bin: NOT BUILT"
  fi
done
[ "$status" = 0 ] && echo "build: OK" || echo "build: FAILED (exit $status)"
exit "$status"
