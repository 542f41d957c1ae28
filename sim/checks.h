// sim/checks.h: what the simulator's checks offer beyond the contract in sim/state.h: choosing the
// checks from code (tests, benchmarks) and reading back the faults they recorded (tests assert on
// them). The checks themselves are in sim/checks.cc; sim/README.md ("Checks") says what each finds.
#pragma once

#include <string>

#include "sim/state.h"

namespace loom::sim {

// Selects the checks as LOOM_SIM_CHECKS does: a comma list of memcheck, initcheck, racecheck,
// synccheck, or "all" / "none". Takes effect at the next launch. Returns false (and changes nothing)
// when a name is unknown. With every access check off, kernel stores are not recorded as writes, so
// initcheck turned on later reports reads of what those kernels wrote.
bool set_checks(const std::string& spec);

// The faults reported since the last clear_faults(), repeats included.
unsigned fault_count(Check check);
unsigned fault_count_total();
// Every report printed since the last clear_faults(), as printed (repeats are counted, not kept).
const std::string& fault_log();
// Forgets the counts, the log and a fault not yet taken by take_sticky_fault(). The runtime keeps a
// taken fault sticky until cudaDeviceReset(): tests that provoke faults call both.
void clear_faults();

// Tests that provoke faults on purpose can keep stderr quiet: reports still go to fault_log().
void set_reports_quiet(bool quiet);

const char* check_name(Check check);  // "memcheck", "initcheck", ...

}  // namespace loom::sim
