// tests/main.cc: the doctest runner. Prints the build matrix first, so every test log starts with
// what this binary and machine can run (CUDA compiled? devices? cuDNN? BLAS? threads?).
//
// Not when listing: doctest_discover_tests runs this binary with --list-test-cases (and, for
// ADD_LABELS, --list-test-suites) at build time and takes every output line that is not a
// "[doctest] ..." or "=====" line as a test name (see doctestAddTests.cmake), so any extra line
// there would become a bogus test. Help, version and count output stay clean for the same reason.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <string>

#include "ops/build_info.h"
#include "core/device.h"

namespace {

// True for doctest's informational options, with or without the "dt-" prefix and the "=value".
bool is_informational_option(const char* arg) {
  std::string a = arg;
  if (a.empty() || a[0] != '-') return false;
  const std::size_t start = a.find_first_not_of('-');
  if (start == std::string::npos) return false;
  a = a.substr(start);
  if (a.rfind("dt-", 0) == 0) a = a.substr(3);
  a = a.substr(0, a.find('='));
  for (const char* opt : {"list-test-cases", "ltc", "list-test-suites", "lts", "list-reporters", "lr",
                          "help", "h", "?", "version", "v", "count", "c"})
    if (a == opt) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  bool informational = false;
  for (int i = 1; i < argc; ++i) informational = informational || is_informational_option(argv[i]);
  if (!informational) std::cout << loom::build_info_text(loom::build_info()) << std::flush;

  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
