#!/usr/bin/env bash
# tools/test.sh: the test command. Installs what is missing, builds, and runs every test with
# ctest. On a machine without a GPU the CUDA tests report "skipped: no CUDA device". Parity
# tests run PyTorch live; set LOOM_REQUIRE_PEERS=1 to make a missing peer a failure, not a skip.
#
#   bash tools/test.sh                           # the default build shape (CUDA when nvcc exists)
#   BUILD_DIR=build-cpu bash tools/test.sh -DLOOM_CUDA=OFF   # the CPU-only shape
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# The live peers of the parity tests (tests/peers/), run by /usr/bin/python3: PyTorch (layers,
# models, checkpoints), NLTK (the tweet tokenizer) and scikit-learn (metrics).
LOOM_EXTRA_PACKAGES="python3-torch python3-nltk python3-sklearn ${LOOM_EXTRA_PACKAGES:-}" bash tools/setup.sh "$@"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
