// tests/support/devices.h: run-time skipping of CUDA tests.
//
// doctest decorators (skip(), may_fail()) are evaluated during static initialization, before
// main() and before anyone could ask the CUDA runtime for devices, so a CUDA test decides at run
// time: its first statement is LOOM_REQUIRE_CUDA_DEVICE(). Without a usable GPU it prints the
// line that tests/CMakeLists.txt gives ctest as SKIP_REGULAR_EXPRESSION, so ctest reports the test
// as skipped (not passed, not failed), and returns. CUDA tests live in TEST_SUITE("cuda"), which
// doctest_discover_tests(ADD_LABELS) turns into the ctest label `cuda` (ctest -L cuda).
#pragma once

#include <doctest/doctest.h>

#include <iostream>

#include "core/device.h"

#define LOOM_REQUIRE_CUDA_DEVICE()                                        \
  do {                                                                    \
    if (!::loom::cuda_compiled() || ::loom::cuda_device_count() == 0) {   \
      std::cout << "skipped: no CUDA device" << std::endl;                \
      MESSAGE("skipped: no CUDA device");                                 \
      return;                                                             \
    }                                                                     \
  } while (0)
