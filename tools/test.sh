#!/usr/bin/env bash
# tools/test.sh: the test command. Installs what is missing, builds, and runs every test with
# ctest. On a machine without a GPU the CUDA tests report "skipped: no CUDA device".
#
#   bash tools/test.sh                           # the default build shape (CUDA when nvcc exists)
#   BUILD_DIR=build-cpu bash tools/test.sh -DLOOM_CUDA=OFF   # the CPU-only shape
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
bash tools/setup.sh "$@"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
