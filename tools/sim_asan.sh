#!/usr/bin/env bash
# tools/sim_asan.sh: the SIM shape's tests under AddressSanitizer and UBSan (sim/README.md, "Checks").
#
# The SIM shape runs every CUDA kernel on the CPU, so the kernels' device memory is host memory that
# ASan watches: a kernel writing past a cudaMalloc'd block or a __shared__ array is reported with
# both stacks. This build replaces the simulator's own per-access callbacks (ASan's instrumentation
# and g++'s kernel-address callbacks cannot share an object file), so memcheck here is ASan's;
# synccheck and the schedule seeds still apply. Slower than the plain SIM pass: not part of CI.
#
#   bash tools/sim_asan.sh            # build-sim-asan, labels cuda|sim, one schedule seed
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build-sim-asan}
export LOOM_SIM_SEEDS=${LOOM_SIM_SEEDS:-1}
# detect_leaks=0: the CUDA contexts and cuBLAS handles live until exit on purpose (as with a real GPU).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
bash tools/test.sh -DLOOM_CUDA=SIM -DLOOM_SIM_SANITIZE=ON -DLOOM_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
