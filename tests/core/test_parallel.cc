// tests/core/test_parallel.cc: the OpenMP wait policy chosen at start-up (core/parallel.h).
//
// ensure_openmp_wait_policy either returns or restarts the program; these cases cover every path
// that returns (the restart itself is execv of /proc/self/exe, which `loom` exercises on every
// start with LOOM_CPU_GEMM=openblas). ctest runs the tests with OMP_WAIT_POLICY=passive, so each
// case sets the two variables it needs and puts the old values back.
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "tests/support/env_var.h"

using namespace loom;
using loom::test::EnvVar;

namespace {

char kProgram[] = "loom";
char* kArgv[] = {kProgram, nullptr};

}  // namespace

TEST_CASE("openmp wait policy: one OpenMP pool for loops and GEMMs keeps libgomp's default") {
  const EnvVar policy("OMP_WAIT_POLICY", std::nullopt);
  const EnvVar spin("GOMP_SPINCOUNT", std::nullopt);
  ensure_openmp_wait_policy(kArgv, false);  // would restart the test binary if it chose passive
  CHECK(std::getenv("OMP_WAIT_POLICY") == nullptr);
  CHECK(openmp_wait_policy_text() == "libgomp's default (spin, then sleep)");
}

TEST_CASE("openmp wait policy: a policy the user set is kept, whatever the GEMM") {
  for (const bool own_threads : {false, true}) {
    {
      const EnvVar policy("OMP_WAIT_POLICY", "active");
      const EnvVar spin("GOMP_SPINCOUNT", std::nullopt);
      ensure_openmp_wait_policy(kArgv, own_threads);
      CHECK(std::string(std::getenv("OMP_WAIT_POLICY")) == "active");
      CHECK(openmp_wait_policy_text() == "OMP_WAIT_POLICY=active");
    }
    {
      const EnvVar policy("OMP_WAIT_POLICY", std::nullopt);
      const EnvVar spin("GOMP_SPINCOUNT", "10000");
      ensure_openmp_wait_policy(kArgv, own_threads);
      CHECK(std::getenv("OMP_WAIT_POLICY") == nullptr);
      CHECK(openmp_wait_policy_text() == "GOMP_SPINCOUNT=10000");
    }
  }
}

TEST_CASE("openmp wait policy: only OpenBLAS runs GEMMs on threads of its own") {
  // The provider is chosen once per process (LOOM_CPU_GEMM or the build's first), so this checks
  // the answer against the provider this process runs on.
  const std::string provider = kernels::cpu_gemm_provider();
  CHECK(kernels::cpu_gemm_has_own_threads() == (provider.rfind("OpenBLAS", 0) == 0));
}
