#!/usr/bin/env bash
# tools/test.sh: the test command. Installs what is missing, builds, and runs every test with
# ctest. On a machine without a GPU the CUDA tests report "skipped: no CUDA device". Parity
# tests run PyTorch live; set LOOM_REQUIRE_PEERS=1 to make a missing peer a failure, not a skip.
#
#   bash tools/test.sh                           # the default build shape (CUDA when nvcc exists)
#   BUILD_DIR=build-cpu bash tools/test.sh -DLOOM_CUDA=OFF   # the CPU-only shape
#   bash tools/test.sh -DLOOM_CUDA=SIM           # the CUDA kernels on the CPU simulator (sim/)
#
# The SIM shape builds in build-sim and runs the `cuda` and `sim` labelled tests (the CPU tests
# already run in the other shapes) once per schedule seed in LOOM_SIM_SEEDS (default "1 2"): each
# seed resumes the fibers of a block in a different order, so code that assumes lockstep warps
# fails under at least one of them. The second and later seeds also run with LOOM_CUDA_ALLOC=plain:
# every tensor is then a fresh cudaMalloc, so initcheck sees a read of memory no kernel wrote (the
# caching allocator would hand back bytes an earlier kernel wrote). LOOM_TEST_LABEL overrides the
# label regex in any shape; LOOM_TEST_EXCLUDE leaves a label out (e.g. "slow": the sanitizer
# shape in CI skips the long learning runs that the plain default shape already ran).
set -euo pipefail
cd "$(dirname "$0")/.."
sim=0
for arg in "$@"; do [ "$arg" = "-DLOOM_CUDA=SIM" ] && sim=1; done
if [ "$sim" = 1 ]; then
  export BUILD_DIR=${BUILD_DIR:-build-sim}
  LOOM_TEST_LABEL=${LOOM_TEST_LABEL:-cuda|sim}
fi
BUILD_DIR=${BUILD_DIR:-build}
# The sanitizer shapes (cmake/sanitize.cmake, docs/sanitizers.md): any report fails its test. The
# suppressions in tools/sanitizers/ say, entry by entry, why each one is not a loom bug.
#   BUILD_DIR=build-asan bash tools/test.sh -DLOOM_CUDA=OFF -DLOOM_SANITIZE=address,undefined
#   BUILD_DIR=build-tsan bash tools/test.sh -DLOOM_CUDA=OFF -DLOOM_SANITIZE=thread
san=$PWD/tools/sanitizers
for arg in "$@"; do
  case "$arg" in
    -DLOOM_SANITIZE=*address*|-DLOOM_SANITIZE=*undefined*)
      export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}
      export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$san/lsan.supp:print_suppressions=0}
      export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$san/ubsan.supp} ;;
    -DLOOM_SANITIZE=*thread*)
      # clang, because its OpenMP runtime loads the Archer tool that tells TSan about barriers (GCC's
      # libgomp would make every parallel loop a false report); a fresh build dir only.
      export CC=${CC:-clang} CXX=${CXX:-clang++}
      export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$san/tsan.supp:ignore_noninstrumented_modules=1:second_deadlock_stack=1:print_suppressions=0} ;;
  esac
done
# The live peers of the parity tests (tests/peers/), run by /usr/bin/python3: PyTorch (layers,
# models, checkpoints), NLTK (the tweet tokenizer) and scikit-learn (metrics).
LOOM_EXTRA_PACKAGES="python3-torch python3-nltk python3-sklearn ${LOOM_EXTRA_PACKAGES:-}" bash tools/setup.sh "$@"
label_args=()
[ -n "${LOOM_TEST_LABEL:-}" ] && label_args=(-L "$LOOM_TEST_LABEL")
[ -n "${LOOM_TEST_EXCLUDE:-}" ] && label_args+=(-LE "$LOOM_TEST_EXCLUDE")
if [ "$sim" = 1 ]; then
  alloc=${LOOM_CUDA_ALLOC:-}
  for seed in ${LOOM_SIM_SEEDS:-1 2}; do
    echo "loom test: SIM shape, schedule seed $seed, CUDA allocator ${alloc:-caching}"
    LOOM_SIM_SEED=$seed LOOM_CUDA_ALLOC=$alloc \
      ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "${label_args[@]}"
    alloc=plain
  done
else
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "${label_args[@]}"
fi
