#!/usr/bin/env bash
# tools/stage_headers.sh: copy the header-only dependencies (doctest, CLI11, nlohmann-json) and
# doctest's CMake helpers from this machine into third_party_headers/ (git-ignored), so that
# tools/gpu_check.sh can build on a GPU machine that has no package manager.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh >/dev/null 2>&1 || true   # makes sure the packages are installed
dst=third_party_headers
rm -rf "$dst" && mkdir -p "$dst/cmake"
cp -r /usr/include/doctest /usr/include/CLI /usr/include/nlohmann "$dst/"
cp /usr/lib/cmake/doctest/doctest.cmake /usr/lib/cmake/doctest/doctestAddTests.cmake "$dst/cmake/"
du -sh "$dst"
