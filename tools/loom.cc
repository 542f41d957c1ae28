// tools/loom.cc: the `loom` command line. One binary, CLI11 subcommands (train, eval, predict,
// synth, doctor, selftest, trace, compare, ...), defined in tools/cli.cc and tools/<name>.cc so
// the tests run the same code. The library throws loom::Error; this is the one place that catches
// it, prints one line (tools/user_error.h: no source locations unless LOOM_DEBUG=1, control bytes
// escaped, long quoted values shortened) and exits with the status of the error's kind.
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/build_info.h"
#include "tools/commands.h"
#include "tools/user_error.h"

int main(int argc, char** argv) {
  loom::ensure_openmp_wait_policy(argv, loom::cpu_gemm_has_own_threads());
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool debug = loom::tools::debug_errors_requested();
  try {
    return loom::tools::run_cli(args, std::cout, std::cerr);
  } catch (const loom::Error& e) {
    std::cout.flush();
    std::cerr << "loom: error: " << loom::tools::user_message(e.what(), debug) << "\n";
    return loom::tools::exit_status_for(e);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "loom: internal error (please report it): " << loom::tools::user_message(e.what(), debug) << "\n";
    return loom::tools::exit_status_for(e);
  }
}
