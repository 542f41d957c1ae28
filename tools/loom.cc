// tools/loom.cc: the `loom` command line. One binary, CLI11 subcommands; each lives in its own
// tools/<name>.cc. The library throws loom::Error; this is the one place that catches it, prints
// one line and exits non-zero.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "core/parallel.h"
#include "tools/doctor.h"
#include "tools/selftest.h"

namespace {

// OpenMP threads that spin after a parallel loop steal both cores from OpenBLAS's threads in the
// GEMM that follows (measured: LSTM fwd+bwd 500 ms spinning vs 96 ms passive on 2 cores). libgomp
// reads OMP_WAIT_POLICY once, when it loads, so the only way to set it for this process is to
// put it in the environment and start again. A user's own setting is left alone.
void ensure_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  ensure_passive_openmp_wait(argv);
  CLI::App app{"loom: recurrent and convolutional text models on CPU and CUDA"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: all cores, or LOOM_NUM_THREADS)");

  app.add_subcommand("doctor", "Print the build matrix: CUDA, devices, cuDNN, cuBLAS, BLAS, threads");
  app.add_subcommand("selftest",
                     "Train a small MLP through the autograd tape on every available device and check the loss falls");

  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) loom::set_num_threads(threads);
    if (app.got_subcommand("doctor")) return loom::tools::doctor_main(std::cout);
    if (app.got_subcommand("selftest")) return loom::tools::selftest_main(std::cout);
  } catch (const loom::Error& e) {
    std::cerr << "loom: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "loom: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
