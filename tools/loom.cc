// tools/loom.cc: the `loom` command line. One binary, CLI11 subcommands (train, eval, predict,
// synth, doctor, selftest), defined in tools/cli.cc and tools/<name>.cc so the tests run the same
// code. The library throws loom::Error; this is the one place that catches it, prints one line
// and exits non-zero.
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  loom::ensure_passive_openmp_wait(argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return loom::tools::run_cli(args, std::cout, std::cerr);
  } catch (const loom::Error& e) {
    std::cout.flush();
    std::cerr << "loom: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "loom: internal error: " << e.what() << "\n";
    return 2;
  }
}
