// tests/support/devices.h: run-time skipping of CUDA tests.
//
// doctest decorators (skip(), may_fail()) are evaluated during static initialization, before
// main() and before anyone could ask the CUDA runtime for devices, so a CUDA test decides at run
// time: its first statement is LOOM_REQUIRE_CUDA_DEVICE(). Without a usable GPU it prints the
// line that tests/CMakeLists.txt gives ctest as SKIP_REGULAR_EXPRESSION, so ctest reports the test
// as skipped (not passed, not failed), and returns. CUDA tests live in TEST_SUITE("cuda"), which
// doctest_discover_tests(ADD_LABELS) turns into the ctest label `cuda` (ctest -L cuda).
//
// cuDNN: a test of the cuDNN rows starts with LOOM_REQUIRE_CUDNN() (a build without cuDNN, e.g. the
// simulator's, skips; every cuDNN skip line starts "skipped: cuDNN", which the expression matches), and a cuDNN refusal at run time of a combination that supports() accepted
// (cuDNN's limits are not all documented) is collected in a CudnnRefusals and reported with
// LOOM_SKIP_CUDNN_REFUSAL at the end of the test case: a skip carrying cuDNN's status, not a failure.
#pragma once

#include <doctest/doctest.h>

#include <exception>
#include <iostream>
#include <string>

#include "core/device.h"
#include "core/error.h"

#define LOOM_REQUIRE_CUDA_DEVICE()                                        \
  do {                                                                    \
    if (!::loom::cuda_compiled() || ::loom::cuda_device_count() == 0) {   \
      std::cout << "skipped: no CUDA device" << std::endl;                \
      MESSAGE("skipped: no CUDA device");                                 \
      return;                                                             \
    }                                                                     \
  } while (0)

#define LOOM_REQUIRE_CUDNN()                                              \
  do {                                                                    \
    if (!::loom::cudnn_compiled()) {                                      \
      std::cout << "skipped: cuDNN is not in this build" << std::endl;    \
      MESSAGE("skipped: cuDNN is not in this build");                     \
      return;                                                             \
    }                                                                     \
  } while (0)

namespace loom::test {

// cuDNN's status when `e` is cuDNN declining what it was asked (a CUDNN_STATUS_NOT_SUPPORTED*
// status, or conv1d_cudnn finding no usable engine among the heuristics' answers); "" when `e` is a
// failure. The NOT_SUPPORTED codes that mean a broken installation rather than a limit of cuDNN
// (driver or runtime too old, a sub-library that could not be loaded: the loader path that
// tools/gpu_check/env.sh sets) stay failures, so a bad setup cannot pass as a row of skips.
inline std::string cudnn_refusal_status(const std::exception& e) {
  if (dynamic_cast<const CudnnError*>(&e) == nullptr) return "";
  const std::string what = e.what();
  for (const char* broken : {"INCOMPATIBLE_CUDA_DRIVER", "INCOMPATIBLE_CUDART", "RUNTIME_PREREQUISITE_MISSING",
                             "SUBLIBRARY_UNAVAILABLE"})
    if (what.find(broken) != std::string::npos) return "";
  const std::size_t at = what.find("CUDNN_STATUS_NOT_SUPPORTED");
  if (at != std::string::npos) {
    const std::size_t end = what.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", at);
    return what.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  if (what.find("offers no deterministic") != std::string::npos) return "no usable engine offered (" + what + ")";
  return "";
}

// The cuDNN refusals met by one test case, for LOOM_SKIP_CUDNN_REFUSAL at its end.
class CudnnRefusals {
 public:
  // True (and remembered) when `e` is a refusal of `asked`; false when the caller must rethrow.
  bool record(const std::exception& e, const std::string& asked) {
    const std::string status = cudnn_refusal_status(e);
    if (status.empty()) return false;
    text_ += (text_.empty() ? "" : "; ") + asked + ": " + status;
    MESSAGE("cuDNN refused ", asked, ": ", e.what());
    return true;
  }
  bool any() const { return !text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace loom::test

// At the end of a test case: when cuDNN refused something, prints the line ctest's
// SKIP_REGULAR_EXPRESSION turns into a skip ("skipped: cuDNN refused <what>: <status>"). ctest's
// skip expression wins over the exit status, so a skip would hide a failed check of the same test
// case: the caller says whether every comparison passed, and with a failure the refusals are only
// listed (without the "skipped:" prefix) and the test fails as it should.
#define LOOM_SKIP_CUDNN_REFUSAL(refusals, all_passed)                                         \
  do {                                                                                        \
    if ((refusals).any()) {                                                                   \
      if (all_passed) {                                                                       \
        std::cout << "skipped: cuDNN refused " << (refusals).text() << std::endl;             \
        MESSAGE("skipped: cuDNN refused ", (refusals).text());                                \
      } else {                                                                                \
        MESSAGE("cuDNN also refused (not a skip: a check failed) ", (refusals).text());       \
      }                                                                                       \
    }                                                                                         \
  } while (0)
