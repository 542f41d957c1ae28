// tools/loom.cc: the `loom` command line. One binary, CLI11 subcommands; each lives in its own
// tools/<name>.cc. The library throws loom::Error; this is the one place that catches it, prints
// one line and exits non-zero.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "core/parallel.h"
#include "tools/doctor.h"
#include "tools/selftest.h"


int main(int argc, char** argv) {
  loom::ensure_passive_openmp_wait(argv);
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
