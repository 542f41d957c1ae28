#!/usr/bin/env bash
# tools/check_openmp_wait.sh: the OpenMP wait policy the `loom` binary starts with (core/parallel.h),
# checked through the binary itself, since choosing passive restarts the process (execv of
# /proc/self/exe), which an in-process unit test cannot do. Reads the "OpenMP wait" line of
# `loom doctor`. Usage: bash tools/check_openmp_wait.sh [path/to/loom]   (default ./build/loom)
set -euo pipefail
loom=${1:-./build/loom}
status=0
# expect WANT ENV...: run doctor with only ENV's wait-policy variables set and compare its line.
expect() {
  local want=$1; shift
  local got
  got=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u LOOM_CPU_GEMM "$@" "$loom" doctor | sed -n 's/^  OpenMP wait *: //p')
  if [ "$got" = "$want" ]; then
    echo "ok: $* -> $got"
  else
    echo "FAIL: $* -> '$got', expected '$want'" >&2
    status=1
  fi
}
# The build's default GEMM: oneDNN (or the portable loops) share loom's pool; OpenBLAS does not.
if env -u LOOM_CPU_GEMM "$loom" doctor | grep -q '^  CPU GEMM *: OpenBLAS'; then
  expect "OMP_WAIT_POLICY=passive"
else
  expect "libgomp's default (spin, then sleep)"
fi
expect "OMP_WAIT_POLICY=passive" LOOM_CPU_GEMM=openblas  # OpenBLAS's own threads: restarted passive
expect "OMP_WAIT_POLICY=active" LOOM_CPU_GEMM=openblas OMP_WAIT_POLICY=active  # the user's choice
expect "GOMP_SPINCOUNT=1000" GOMP_SPINCOUNT=1000        # kept, and not restarted
exit $status
