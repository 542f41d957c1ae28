#!/usr/bin/env bash
# tools/setup.sh: install what loom needs (Debian packages, only those missing), then configure
# and build. Works as root on a fresh Debian bookworm machine; uses sudo when not root.
#
#   bash tools/setup.sh                 # build/ with CUDA if nvcc is found (LOOM_CUDA=AUTO)
#   BUILD_DIR=build-cpu bash tools/setup.sh -DLOOM_CUDA=OFF   # extra arguments go to cmake
#   LOOM_TORCH=1 bash tools/setup.sh    # also libtorch-dev and -DLOOM_TORCH=ON: the bench peer
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
PACKAGES=(cmake ninja-build g++ ccache doctest-dev libcli11-dev libopenblas-dev libdnnl-dev nlohmann-json3-dev)
# tools/test.sh adds the live peers of the parity tests (Debian's PyTorch for the system python3).
read -r -a EXTRA <<< "${LOOM_EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")
# The libtorch peer of `loom bench` (docs/torch_peer.md) needs Debian's libtorch-dev: 160 MB
# itself and some 450 packages under it (OpenCV, GDAL, Qt...), so only when asked: LOOM_TORCH=1 in
# the environment (which also passes -DLOOM_TORCH=ON to cmake), or -DLOOM_TORCH=ON among the
# cmake arguments.
TORCH_ARGS=()
if [ "${LOOM_TORCH:-0}" = 1 ] || [[ " $* " == *" -DLOOM_TORCH=ON "* ]]; then
  PACKAGES+=(libtorch-dev)
  [ "${LOOM_TORCH:-0}" = 1 ] && TORCH_ARGS=(-DLOOM_TORCH=ON)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "loom setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc lives outside PATH on many machines.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

# ccache: the build shapes (default, SIM, CPU-only, sanitizers) compile most C++ files to the same
# preprocessed text with the same flags (only loom_core's files see the CUDA switches), and ccache's
# preprocessor mode reuses such an object across build folders: CI's second and third shapes then
# compile little more than loom_core. LOOM_CCACHE=0 turns it off.
LAUNCHER_ARGS=()
if [ "${LOOM_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null 2>&1; then
  LAUNCHER_ARGS=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S . -B "$BUILD_DIR" -G Ninja "${TORCH_ARGS[@]}" "${LAUNCHER_ARGS[@]}" "$@"
# Show which GPU architectures nvcc compiles the .cu files for (a compile-only machine cannot
# detect a GPU, so they are explicit: CMAKE_CUDA_ARCHITECTURES, default 80;90).
if grep -q "CUDA_COMPILER__loom_core" "$BUILD_DIR/build.ninja" 2>/dev/null; then
  echo "loom setup: nvcc targets: $(grep -o -- '--generate-code=arch=compute_[0-9]*,code=\[[^]]*\]' \
    "$BUILD_DIR/build.ninja" | sort -u | tr '\n' ' ')"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
