// core/parallel.cc: the engine's one CPU thread count (see core/parallel.h).
#include "core/parallel.h"

#include <omp.h>

#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace loom {
namespace {

int initial_threads() {
  if (const char* v = std::getenv("LOOM_NUM_THREADS")) {
    const int n = std::atoi(v);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int& thread_count() {
  static int n = initial_threads();
  return n;
}

}  // namespace

int num_threads() { return thread_count(); }

void set_num_threads(int n) {
  thread_count() = n > 0 ? n : 1;
  omp_set_num_threads(thread_count());
}

}  // namespace loom

std::string loom::openmp_wait_policy_text() {
  std::string text;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
    if (const char* v = std::getenv(name)) text += (text.empty() ? "" : " ") + std::string(name) + "=" + v;
  return text.empty() ? "libgomp's default (spin, then sleep)" : text;
}

void loom::ensure_openmp_wait_policy(char** argv, bool gemm_has_own_threads) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // the user's choice
  if (!gemm_has_own_threads) return;  // one OpenMP pool for loops and GEMMs: libgomp's default
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default policy
}
