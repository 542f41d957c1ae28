// sim/checks.cc: the simulator's checks (memcheck, initcheck, racecheck) and the one place a fault
// is reported.
//
// Kernel files are compiled with -fsanitize=kernel-address and a call threshold of 0 (cmake/sim.cmake):
// g++ then calls __asan_loadN_noabort(addr) / __asan_storeN_noabort(addr) before every memory access
// in them, and links no ASan runtime. This file implements those callbacks. It is itself compiled
// without instrumentation, so nothing here re-enters it.
//
// An access is looked at only while a CUDA thread runs (current_thread() != nullptr), and then by
// where it lands:
//   the fiber's own stack          private to the thread: never checked
//   a __shared__ variable          racecheck, initcheck, misalignment (shadow kept here, per byte;
//                                  the variables are found in the program's symbol table)
//   a device allocation            memcheck (bounds, use after free, misalignment) and initcheck
//                                  (memory.cc keeps the "written" shadow)
//   anything else                  kernel parameters, host statics, constants, another fiber's stack:
//                                  not checked (the simulator has no map of them)
// Accesses inside calls to code that is not instrumented (libm, memcpy/memset calls the compiler
// kept as calls) are not seen either.
//
// Each distinct fault (check, kernel, code site) is printed once per launch; its repeats are counted
// and summed up at the end of the launch, so a faulty loop prints one report, not a million.
#include <driver_types.h>  // cudaError_t values for the sticky fault

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "sim/checks.h"
#include "sim/checks_symbols.h"
#include "sim/profile.h"
#include "sim/state.h"

namespace loom::sim {
namespace {

// ---- which checks run ------------------------------------------------------------------------------

unsigned bit(Check c) { return 1u << static_cast<unsigned>(c); }
const unsigned kAllChecks =
    bit(Check::memcheck) | bit(Check::initcheck) | bit(Check::racecheck) | bit(Check::synccheck);

// Parses "memcheck,racecheck" / "all" / "none" into a mask; false when a name is unknown.
bool parse_checks(const std::string& spec, unsigned* mask) {
  static const Check kNamed[] = {Check::memcheck, Check::initcheck, Check::racecheck, Check::synccheck};
  unsigned m = 0;
  for (std::size_t start = 0; start <= spec.size();) {
    std::size_t end = std::min(spec.find(',', start), spec.size());
    const std::string name = spec.substr(start, end - start);
    unsigned named = name == "all" ? kAllChecks : 0;
    for (Check c : kNamed) named |= name == check_name(c) ? bit(c) : 0;
    if (named == 0 && name != "none" && !name.empty()) return false;
    m |= named;
    start = end + 1;
  }
  *mask = m;
  return true;
}

// The checks of the running launch. Read from LOOM_SIM_CHECKS on first use; set_checks() overrides.
bool g_mask_known = false;
unsigned g_mask = kAllChecks;

unsigned enabled_mask() {
  if (!g_mask_known) {
    g_mask_known = true;
    const char* env = std::getenv("LOOM_SIM_CHECKS");
    if (env != nullptr && env[0] != '\0' && !parse_checks(env, &g_mask)) {
      std::fprintf(stderr,
                   "loom-sim: LOOM_SIM_CHECKS=%s names an unknown check; running all of them "
                   "(known: memcheck,initcheck,racecheck,synccheck, all, none)\n",
                   env);
      g_mask = kAllChecks;
    }
  }
  return g_mask;
}

// ---- recorded faults -------------------------------------------------------------------------------

struct Faults {
  int pending_error = 0;  // cudaError_t of the first fault not yet taken by the runtime
  unsigned count[5] = {};
  std::string log;
  bool quiet = false;
  // This launch's distinct faults: (check, site, second site) -> repeats after the printed one.
  const char* kernel = nullptr;
  std::map<std::tuple<int, std::uintptr_t, std::uintptr_t>, unsigned> seen;
};
Faults g_faults;

const std::size_t kMaxLog = 1 << 20;  // a test process's log stays small even if a check misfires

void emit(const std::string& text) {
  if (!g_faults.quiet) std::fputs(text.c_str(), stderr);
  if (g_faults.log.size() < kMaxLog) g_faults.log += text;
}

// threadIdx of a block-linear thread index (x fastest, as CUDA numbers threads).
std::string thread_coords(unsigned linear, const Index3& dim) {
  const unsigned x = linear % dim.x, y = (linear / dim.x) % dim.y, z = linear / (dim.x * dim.y);
  return "(" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}

using symbols::describe_pc;
using symbols::hex;

// Counts a fault, keeps the first one's error for the runtime, and prints it (callers ask repeat()
// first, so a site prints once per launch). `first_line` follows "loom-sim <check>: "; `details` are
// more lines, each starting with two spaces.
void record(Check check, int cuda_error, const std::string& first_line, const std::string& details) {
  ++g_faults.count[static_cast<int>(check)];
  if (g_faults.pending_error == 0) g_faults.pending_error = cuda_error;
  std::string text = std::string("loom-sim ") + check_name(check) + ": " + first_line + "\n";
  if (const ThreadState* t = current_thread()) {
    text += std::string("  kernel ") + t->kernel + " block (" + std::to_string(t->block.x) + "," +
            std::to_string(t->block.y) + "," + std::to_string(t->block.z) + ") thread (" +
            std::to_string(t->thread.x) + "," + std::to_string(t->thread.y) + "," +
            std::to_string(t->thread.z) + ")\n";
  } else {
    text += "  on the host (outside a kernel)\n";
  }
  emit(text + details);
}

// True when (check, site, site2) was already reported in this launch (then only counted).
bool repeat(Check check, std::uintptr_t site, std::uintptr_t site2 = 0) {
  if (g_faults.kernel == nullptr) return false;  // outside a launch: every report is printed
  auto [it, fresh] = g_faults.seen.try_emplace({static_cast<int>(check), site, site2}, 0u);
  if (fresh) return false;
  ++it->second;
  ++g_faults.count[static_cast<int>(check)];
  return true;
}

int error_of(Check check) {
  return check == Check::memcheck ? cudaErrorIllegalAddress : cudaErrorLaunchFailure;
}

// ---- shared memory: racecheck and initcheck ----------------------------------------------------------

// One thread's access to a shared byte.
struct Touch {
  std::uintptr_t pc = 0;
  std::uint32_t epoch = 0;       // the thread's barrier_epoch + 1; 0 = no access since the block began
  std::uint16_t thread = 0;      // linear thread index (a block has at most 1024)
  std::uint16_t warp_epoch = 0;  // the thread's warp_epoch, low 16 bits (compared as a difference)
};
// What racecheck remembers of one shared byte in the current block: the last write, the last read,
// and an earlier read of the same barrier interval by another thread (so a write is checked against
// two distinct readers: enough to name a hazard whenever one exists).
struct SharedByte {
  Touch write, read, other_read;
};

// A __shared__ variable of the program, and what the checks know of it in the running block.
struct SharedVariable {
  symbols::Object object;
  std::uint64_t block = 0;        // the block whose accesses `bytes` describes (see enter_block)
  std::vector<SharedByte> bytes;  // one per byte of the variable
};

struct SharedMemory {
  bool loaded = false;
  std::vector<SharedVariable> vars;  // sorted by address
  std::uintptr_t lo = 0, hi = 0;     // from the first variable's start to the last one's end
  std::uint64_t block = 1;           // serial number of the running block
  SharedVariable* last = nullptr;    // the variable of the last shared access
};
SharedMemory g_shared;

// Shared memory is told from other memory by the program's symbol table (checks_symbols.h): GCC
// cannot put every __shared__ variable into one linker section (sim/device.h).
void load_shared_variables() {
  g_shared.loaded = true;
  for (symbols::Object& o : symbols::load_shared_variables(reinterpret_cast<const void*>(&load_shared_variables))) {
    SharedVariable v;
    v.object = std::move(o);
    g_shared.vars.push_back(std::move(v));
  }
  if (g_shared.vars.empty()) {
    std::fputs("loom-sim: the program has no symbol table (stripped?): racecheck and the initcheck of "
               "shared memory are off\n", stderr);
    return;
  }
  g_shared.lo = g_shared.vars.front().object.addr;
  for (const SharedVariable& v : g_shared.vars) g_shared.hi = std::max(g_shared.hi, v.object.addr + v.object.size);
}

SharedVariable* find_shared(std::uintptr_t addr) {
  if (addr < g_shared.lo || addr >= g_shared.hi) return nullptr;
  auto inside = [addr](const SharedVariable* v) { return addr >= v->object.addr && addr < v->object.addr + v->object.size; };
  if (g_shared.last != nullptr && inside(g_shared.last)) return g_shared.last;
  auto it = std::upper_bound(g_shared.vars.begin(), g_shared.vars.end(), addr,
                             [](std::uintptr_t a, const SharedVariable& v) { return a < v.object.addr; });
  if (it == g_shared.vars.begin() || !inside(&*(it - 1))) return nullptr;
  g_shared.last = &*(it - 1);
  return g_shared.last;
}

// At a variable's first access in a block: it reads as 0xFF bytes (NaN in every float type, where a
// GPU would show whatever an earlier block left), and nothing of earlier blocks is remembered.
void enter_block(SharedVariable& v) {
  if (v.block == g_shared.block) return;
  v.block = g_shared.block;
  std::memset(reinterpret_cast<void*>(v.object.addr), 0xFF, v.object.size);
  v.bytes.assign(v.object.size, SharedByte{});
}

// "0x55d0c1a2b3c4 (neighbour_exchange(float*, bool)::s, byte 4 of 256)".
std::string describe_shared(const SharedVariable& v, std::size_t offset) {
  return hex(v.object.addr + offset) + " (" + v.object.name + ", byte " + std::to_string(offset) + " of " +
         std::to_string(v.object.size) + ")";
}

Touch touch_now(const ThreadState& t, std::uintptr_t pc) {
  Touch touch;
  touch.pc = pc;
  touch.epoch = static_cast<std::uint32_t>(t.barrier_epoch + 1);
  touch.thread = static_cast<std::uint16_t>(t.linear);
  touch.warp_epoch = static_cast<std::uint16_t>(t.warp_epoch);
  return touch;
}

// True when `before` (by another thread) and an access by `t` now are unordered: no __syncthreads
// between them, and not the same warp with a warp-level sync (shuffle, vote, __syncwarp) since.
// Epochs, not the order fibers happened to run in, decide: so a missing barrier is found under
// every schedule seed, even when the run happened to give the right answer.
bool unordered(const Touch& before, const ThreadState& t) {
  if (before.epoch == 0 || before.thread == t.linear) return false;
  if (before.epoch != static_cast<std::uint32_t>(t.barrier_epoch + 1)) return false;
  if (before.thread / 32u == t.warp) {
    const auto since =
        static_cast<std::int16_t>(static_cast<std::uint16_t>(t.warp_epoch) - before.warp_epoch);
    if (since > 0) return false;
  }
  return true;
}

// The first hazard one access meets: reported once per access, not once per byte.
struct Hazard {
  const char* kind = nullptr;  // nullptr: none
  std::size_t byte = 0;        // offset in the variable
  Touch other;
  const char* other_verb = "";
};

void report_hazard(const Hazard& h, const SharedVariable& v, const ThreadState& t, bool is_write,
                   std::uintptr_t pc) {
  if (repeat(Check::racecheck, pc, h.other.pc)) return;
  const char* sync = h.other.thread / 32u == t.warp ? "__syncthreads or __syncwarp" : "__syncthreads";
  const char* verb = is_write ? "written" : "read";
  record(Check::racecheck, error_of(Check::racecheck),
         std::string(h.kind) + " hazard on shared memory " + describe_shared(v, h.byte) + ": " + h.other_verb +
             " by thread " + thread_coords(h.other.thread, t.block_dim) + ", " + verb + " by thread " +
             thread_coords(t.linear, t.block_dim) + " with no " + sync + " between",
         std::string("  ") + h.other_verb + " at " + describe_pc(h.other.pc) + "\n  " + verb + " at " +
             describe_pc(pc) + "\n");
}

void shared_access(const ThreadState& t, SharedVariable& v, std::uintptr_t addr, std::size_t size,
                   bool is_write, std::uintptr_t pc, unsigned mask) {
  const std::size_t offset = addr - v.object.addr;
  const std::size_t end = std::min(offset + size, v.object.size);  // an access across two is cut
  if ((mask & bit(Check::memcheck)) != 0 && (size & (size - 1)) == 0 && size <= 16 && addr % size != 0 &&
      !repeat(Check::memcheck, pc)) {
    record(Check::memcheck, cudaErrorMisalignedAddress,
           std::string("misaligned shared ") + (is_write ? "write" : "read") + " of " + std::to_string(size) +
               " bytes at " + describe_shared(v, offset),
           "  at " + describe_pc(pc) + "\n");
  }
  if ((mask & (bit(Check::racecheck) | bit(Check::initcheck))) == 0) return;
  enter_block(v);
  const bool race = (mask & bit(Check::racecheck)) != 0;
  const Touch now = touch_now(t, pc);
  Hazard hazard;
  std::size_t unwritten = end;  // the first byte read that no thread wrote
  for (std::size_t i = offset; i < end; ++i) {
    SharedByte& b = v.bytes[i];
    if (race && hazard.kind == nullptr) {
      const Touch* other = nullptr;
      if (is_write && unordered(b.write, t)) {
        hazard.kind = "write-after-write", hazard.other_verb = "written", other = &b.write;
      } else if (is_write && (unordered(b.read, t) || unordered(b.other_read, t))) {
        hazard.kind = "write-after-read", hazard.other_verb = "read";
        other = unordered(b.read, t) ? &b.read : &b.other_read;
      } else if (!is_write && unordered(b.write, t)) {
        hazard.kind = "read-after-write", hazard.other_verb = "written", other = &b.write;
      }
      if (other != nullptr) hazard.byte = i, hazard.other = *other;
    }
    if (is_write) {
      b.write = now;
      continue;
    }
    if (b.write.epoch == 0 && unwritten == end) unwritten = i;
    if (b.read.epoch == now.epoch && b.read.thread != now.thread) b.other_read = b.read;
    b.read = now;
  }
  if (unwritten != end && (mask & bit(Check::initcheck)) != 0 && !repeat(Check::initcheck, pc)) {
    record(Check::initcheck, error_of(Check::initcheck),
           "read of " + std::to_string(size) + " bytes of shared memory at " + describe_shared(v, unwritten) +
               " that no thread of this block wrote",
           "  at " + describe_pc(pc) + "\n");
  }
  if (hazard.kind != nullptr) report_hazard(hazard, v, t, is_write, pc);
}

// ---- device memory: memcheck and initcheck -----------------------------------------------------------

std::string allocation_text(const Allocation& a) {
  return "allocation #" + std::to_string(a.id) + " (" + std::to_string(a.bytes) + " bytes at " +
         hex(reinterpret_cast<std::uintptr_t>(a.base)) + (a.live ? ")" : ", freed)");
}

void device_access(const Allocation& a, std::uintptr_t addr, std::size_t size, bool is_write,
                   std::uintptr_t pc, unsigned mask) {
  const auto base = reinterpret_cast<std::uintptr_t>(a.base);
  const std::uintptr_t end = base + a.bytes;
  const bool misaligned = (size & (size - 1)) == 0 && size <= 16 && addr % size != 0;
  if (!a.live || addr < base || addr + size > end || misaligned) {
    if ((mask & bit(Check::memcheck)) == 0 || repeat(Check::memcheck, pc)) return;
    const std::string where = allocation_text(a);
    std::string what = "invalid ", problem;  // the headline's word, and the detail line
    int error = cudaErrorIllegalAddress;
    if (!a.live) {
      what = "use after free: ";
      problem = "address is byte +" + std::to_string(addr - base) + " of " + where;
    } else if (addr < base) {
      problem = "address is " + std::to_string(base - addr) + " bytes before the start of " + where;
    } else if (addr >= end) {
      problem = "address is " + std::to_string(addr - end) + " bytes past the end of " + where;
    } else if (addr + size > end) {
      problem = "access runs " + std::to_string(addr + size - end) + " bytes past the end of " + where;
    } else {
      what = "misaligned ";
      error = cudaErrorMisalignedAddress;
      problem = "address is not a multiple of " + std::to_string(size) + " (byte +" +
                std::to_string(addr - base) + " of " + where + ")";
    }
    record(Check::memcheck, error,
           what + "global " + (is_write ? "write" : "read") + " of " + std::to_string(size) + " bytes at " +
               hex(addr),
           "  " + problem + "\n  at " + describe_pc(pc) + "\n");
    return;
  }
  if (is_write) {
    mark_written(reinterpret_cast<const void*>(addr), size);
    return;
  }
  const void* first = nullptr;
  if ((mask & bit(Check::initcheck)) != 0 &&
      !all_written(reinterpret_cast<const void*>(addr), size, &first) && !repeat(Check::initcheck, pc)) {
    record(Check::initcheck, error_of(Check::initcheck),
           "global read of " + std::to_string(size) + " bytes at " + hex(addr) +
               " reads memory never written",
           "  byte +" + std::to_string(reinterpret_cast<std::uintptr_t>(first) - base) + " of " +
               allocation_text(a) + " was never written (by a copy, a memset or a kernel)\n  at " +
               describe_pc(pc) + "\n");
  }
}

// Lookup caches, cleared at each launch (allocations do not change during one). Addresses that are
// in no allocation (the launch closure's captured arguments, read by every thread) are remembered
// exactly, not by page: a page may hold an allocation's edge.
const std::size_t kMissed = 8;
std::uintptr_t g_missed[kMissed] = {};  // 0: empty
const Allocation* g_recent[2] = {};      // live allocations recently hit (a kernel's input and output)

// Every instrumented access of a kernel file comes here first.
inline void on_access(std::uintptr_t addr, std::size_t size, bool is_write, std::uintptr_t pc) {
  if (g_profile_active) profile_access(addr, size, is_write, pc);  // sim/profile.cc, LOOM_SIM_PROFILE=1
  const unsigned mask = g_mask;  // enabled_mask() was read by checks_launch_begin
  if ((mask & (bit(Check::memcheck) | bit(Check::initcheck) | bit(Check::racecheck))) == 0) return;
  const ThreadState* t = current_thread();
  if (t == nullptr) return;  // host code of a kernel file
  const auto lo = reinterpret_cast<std::uintptr_t>(t->stack_lo);
  if (addr >= lo && addr < reinterpret_cast<std::uintptr_t>(t->stack_hi)) return;  // the thread's locals
  if (SharedVariable* v = find_shared(addr)) {
    shared_access(*t, *v, addr, size, is_write, pc, mask);
    return;
  }
  for (const Allocation* a : g_recent) {
    const auto base = a != nullptr ? reinterpret_cast<std::uintptr_t>(a->base) : 0;
    if (a != nullptr && addr >= base && addr + size <= base + a->bytes) {
      device_access(*a, addr, size, is_write, pc, mask);
      return;
    }
  }
  std::uintptr_t& missed = g_missed[(addr >> 3) % kMissed];
  if (missed == addr) return;
  if (const Allocation* a = find_allocation(reinterpret_cast<const void*>(addr))) {
    if (a->live) g_recent[1] = g_recent[0], g_recent[0] = a;
    device_access(*a, addr, size, is_write, pc, mask);
  } else {
    // Kernel parameters, host statics, constants: not checked (the simulator has no map of them).
    missed = addr;
  }
}

}  // namespace

// ---- the contract of sim/state.h ------------------------------------------------------------------------

const char* check_name(Check check) {
  switch (check) {
    case Check::memcheck:
      return "memcheck";
    case Check::initcheck:
      return "initcheck";
    case Check::racecheck:
      return "racecheck";
    case Check::synccheck:
      return "synccheck";
    case Check::launch:
      return "launch";
  }
  return "check";
}

void report_fault(Check check, const std::string& message) {
  // The caller's address is the site: the same fault from the same place prints once per launch.
  const auto site = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
  if (repeat(check, site, std::hash<std::string>{}(message.substr(0, message.find('\n'))))) return;
  const std::size_t newline = message.find('\n');
  std::string details;
  if (newline != std::string::npos) {
    // Later lines of the message are details: indent them like the checks' own.
    std::size_t start = newline + 1;
    while (start < message.size()) {
      std::size_t end = message.find('\n', start);
      if (end == std::string::npos) end = message.size();
      details += "  " + message.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  record(check, error_of(check), message.substr(0, newline), details);
}

bool check_enabled(Check check) { return check == Check::launch || (enabled_mask() & bit(check)) != 0; }

int take_sticky_fault() {
  const int error = g_faults.pending_error;
  g_faults.pending_error = 0;
  return error;
}

void checks_launch_begin(const char* kernel) {
  if ((enabled_mask() & (bit(Check::racecheck) | bit(Check::initcheck))) != 0 && !g_shared.loaded) {
    load_shared_variables();
  }
  std::fill(std::begin(g_missed), std::end(g_missed), 0);
  std::fill(std::begin(g_recent), std::end(g_recent), nullptr);
  g_faults.kernel = kernel;
  g_faults.seen.clear();
}

// Shared memory is reset lazily, at each variable's first access in the block (enter_block).
void checks_block_begin() { ++g_shared.block; }

void checks_launch_end() {
  for (const auto& [key, repeats] : g_faults.seen) {
    if (repeats == 0) continue;
    const auto check = static_cast<Check>(std::get<0>(key));
    const std::uintptr_t other_site = check == Check::racecheck ? std::get<2>(key) : 0;
    emit(std::string("loom-sim ") + check_name(check) + ": " + std::to_string(repeats) +
         " more like the report at " + describe_pc(std::get<1>(key)) +
         (other_site != 0 ? " and " + describe_pc(other_site) : "") + " in this launch of " +
         g_faults.kernel + "\n");
  }
  g_faults.seen.clear();
  g_faults.kernel = nullptr;
}

// ---- sim/checks.h ---------------------------------------------------------------------------------------

bool set_checks(const std::string& spec) {
  unsigned mask = 0;
  if (!parse_checks(spec, &mask)) return false;
  g_mask = mask;
  g_mask_known = true;
  return true;
}

unsigned fault_count(Check check) { return g_faults.count[static_cast<int>(check)]; }

unsigned fault_count_total() {
  unsigned total = 0;
  for (unsigned c : g_faults.count) total += c;
  return total;
}

const std::string& fault_log() { return g_faults.log; }

void clear_faults() {
  g_faults.pending_error = 0;
  std::fill(std::begin(g_faults.count), std::end(g_faults.count), 0u);
  g_faults.log.clear();
}

void set_reports_quiet(bool quiet) { g_faults.quiet = quiet; }

}  // namespace loom::sim

// ---- the compiler's per-access callbacks
// ------------------------------------------------------------------- Left out of the LOOM_SIM_SANITIZE
// build: there the real ASan runtime defines these names and checks every access itself.
#if !defined(__SANITIZE_ADDRESS__)
#define LOOM_SIM_ACCESS_CALLBACKS(N)                                                                     \
  extern "C" void __asan_load##N##_noabort(std::uintptr_t addr) {                                        \
    loom::sim::on_access(addr, N, false, reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))); \
  }                                                                                                      \
  extern "C" void __asan_store##N##_noabort(std::uintptr_t addr) {                                       \
    loom::sim::on_access(addr, N, true, reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));  \
  }
LOOM_SIM_ACCESS_CALLBACKS(1)
LOOM_SIM_ACCESS_CALLBACKS(2)
LOOM_SIM_ACCESS_CALLBACKS(4)
LOOM_SIM_ACCESS_CALLBACKS(8)
LOOM_SIM_ACCESS_CALLBACKS(16)
#undef LOOM_SIM_ACCESS_CALLBACKS

extern "C" void __asan_loadN_noabort(std::uintptr_t addr, std::size_t size) {
  loom::sim::on_access(addr, size, false, reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
}
extern "C" void __asan_storeN_noabort(std::uintptr_t addr, std::size_t size) {
  loom::sim::on_access(addr, size, true, reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
}

// Also emitted by the instrumentation; they matter to a real ASan runtime only.
extern "C" void __asan_handle_no_return() {}
extern "C" void __asan_before_dynamic_init(const char*) {}
extern "C" void __asan_after_dynamic_init() {}
#endif
