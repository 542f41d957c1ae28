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
//   the block's shared memory      racecheck, initcheck, misalignment (shadow kept here, per byte)
//   a device allocation            memcheck (bounds, use after free, misalignment) and initcheck
//                                  (memory.cc keeps the "written" shadow)
//   anything else                  kernel parameters, host statics, constants, another fiber's stack:
//                                  not checked (the simulator has no map of them)
// Accesses inside calls to code that is not instrumented (libm, memcpy/memset calls the compiler
// kept as calls) are not seen either.
//
// Each distinct fault (check, kernel, code site) is printed once per launch; its repeats are counted
// and summed up at the end of the launch, so a faulty loop prints one report, not a million.
#include <cxxabi.h>
#include <dlfcn.h>
#include <driver_types.h>  // cudaError_t values for the sticky fault
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "sim/state.h"

namespace loom::sim {
namespace {

// ---- which checks run ------------------------------------------------------------------------------

unsigned bit(Check c) { return 1u << static_cast<unsigned>(c); }
const unsigned kAllChecks = bit(Check::memcheck) | bit(Check::initcheck) | bit(Check::racecheck) |
                            bit(Check::synccheck);

// Parses "memcheck,racecheck" / "all" / "none" into a mask; false when a name is unknown.
bool parse_checks(const std::string& spec, unsigned* mask) {
  unsigned m = 0;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string name = spec.substr(start, end - start);
    if (name == "all") m |= kAllChecks;
    else if (name == "none" || name.empty()) {
    } else if (name == "memcheck") m |= bit(Check::memcheck);
    else if (name == "initcheck") m |= bit(Check::initcheck);
    else if (name == "racecheck") m |= bit(Check::racecheck);
    else if (name == "synccheck") m |= bit(Check::synccheck);
    else return false;
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
    if (env != nullptr && !parse_checks(env, &g_mask)) {
      std::fprintf(stderr, "loom-sim: LOOM_SIM_CHECKS=%s names an unknown check; running all of them "
                           "(known: memcheck,initcheck,racecheck,synccheck, all, none)\n", env);
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

std::string hex(std::uintptr_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// "pc 0x55e0c1a2b3c4 (loom_tests+0x1a2b3c3 in <function>)". The offset is the address of the
// instruction that made the access, as `addr2line -Cfipe <file> <offset>` wants it (the load bias
// subtracted, so it works for PIE and non-PIE files alike). Kernels are static functions, so dladdr
// usually finds no symbol name for them; addr2line (with -g) gives the source line.
std::string describe_pc(std::uintptr_t pc) {
  std::string text = "pc " + hex(pc);
  Dl_info info{};
  link_map* map = nullptr;
  if (pc == 0 || dladdr1(reinterpret_cast<void*>(pc), &info, reinterpret_cast<void**>(&map),
                         RTLD_DL_LINKMAP) == 0 || map == nullptr) {
    return text;
  }
  std::string file = info.dli_fname != nullptr ? info.dli_fname : "";
  if (file.empty()) {  // the main program's link map has no name
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    file = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "<program>";
  }
  const std::size_t slash = file.rfind('/');
  text += " (" + (slash == std::string::npos ? file : file.substr(slash + 1)) + "+" +
          hex(pc - 1 - map->l_addr);
  if (info.dli_sname != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    text += std::string(" in ") + (status == 0 ? demangled : info.dli_sname);
    std::free(demangled);
  }
  return text + ")";
}

// Records a fault and prints it unless the same (check, site) was printed earlier in this launch.
// `first_line` follows "loom-sim <check>: "; `details` are more lines, each starting with two spaces.
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

// A __shared__ variable of the program. Kernels' shared arrays are function-local statics, which
// only the full symbol table names (dladdr sees the dynamic one), so the table is read from the file.
struct SharedVariable {
  std::uintptr_t addr = 0;
  std::size_t size = 0;
  std::string name;
};

// The variables of the loom_sim_shared section of the file that holds `in_section`, sorted by address;
// empty if the file cannot be read (stripped, not ELF64).
std::vector<SharedVariable> load_shared_variables(const void* in_section) {
  std::vector<SharedVariable> vars;
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(in_section, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 || map == nullptr) return vars;
  const char* file = map->l_name != nullptr && map->l_name[0] != '\0' ? map->l_name : "/proc/self/exe";
  const int fd = open(file, O_RDONLY);
  if (fd < 0) return vars;
  struct stat st {};
  void* image = fstat(fd, &st) == 0 ? mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                                    : MAP_FAILED;
  close(fd);
  if (image == MAP_FAILED) return vars;
  const auto* base = static_cast<const char*>(image);
  const auto bytes = static_cast<std::size_t>(st.st_size);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  if (bytes >= sizeof(Elf64_Ehdr) && std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
      eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) <= bytes && eh->e_shstrndx < eh->e_shnum) {
    const auto* sections = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
    const char* section_names = base + sections[eh->e_shstrndx].sh_offset;
    unsigned shared = 0;
    for (unsigned i = 1; i < eh->e_shnum; ++i) {
      if (std::strcmp(section_names + sections[i].sh_name, "loom_sim_shared") == 0) shared = i;
    }
    for (unsigned i = 1; shared != 0 && i < eh->e_shnum; ++i) {
      if (sections[i].sh_type != SHT_SYMTAB || sections[i].sh_offset + sections[i].sh_size > bytes) continue;
      const auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sections[i].sh_offset);
      const char* strings = base + sections[sections[i].sh_link].sh_offset;
      for (std::size_t k = 0; k < sections[i].sh_size / sizeof(Elf64_Sym); ++k) {
        if (syms[k].st_shndx != shared || ELF64_ST_TYPE(syms[k].st_info) != STT_OBJECT) continue;
        int status = 0;
        char* demangled = abi::__cxa_demangle(strings + syms[k].st_name, nullptr, nullptr, &status);
        vars.push_back({map->l_addr + syms[k].st_value, syms[k].st_size,
                        status == 0 ? demangled : strings + syms[k].st_name});
        std::free(demangled);
      }
    }
  }
  munmap(image, bytes);
  std::sort(vars.begin(), vars.end(), [](const auto& a, const auto& b) { return a.addr < b.addr; });
  return vars;
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

struct SharedShadow {
  Span span;                       // the section the shadow describes
  std::vector<SharedByte> bytes;   // one per byte of span
  std::size_t dirty_lo = 0, dirty_hi = 0;  // bytes touched since the last reset: [lo, hi)
  bool reset_all = true;           // an untracked block ran (checks off): reset the whole section
};
SharedShadow g_shared;

// "0x55d0c1a2b3c4 (neighbour_exchange(float*, bool)::s, byte 4 of 256)", or the section offset when the
// symbol table names nothing there.
std::string describe_shared(const char* p) {
  static bool loaded = false;
  static std::vector<SharedVariable> vars;
  if (!loaded) {
    loaded = true;
    vars = load_shared_variables(p);
  }
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  for (const SharedVariable& v : vars) {
    if (a >= v.addr && a < v.addr + v.size) {
      return hex(a) + " (" + v.name + ", byte " + std::to_string(a - v.addr) + " of " + std::to_string(v.size) + ")";
    }
  }
  return hex(a) + " (shared byte +" + std::to_string(p - g_shared.span.lo) + ")";
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
    const auto since = static_cast<std::int16_t>(static_cast<std::uint16_t>(t.warp_epoch) - before.warp_epoch);
    if (since > 0) return false;
  }
  return true;
}

// The first hazard one access meets: reported once per access, not once per byte.
struct Hazard {
  const char* kind = nullptr;  // nullptr: none
  std::size_t byte = 0;        // offset in the section
  Touch other;
  const char* other_verb = "";
};

void report_hazard(const Hazard& h, const ThreadState& t, bool is_write, std::uintptr_t pc) {
  if (repeat(Check::racecheck, pc, h.other.pc)) return;
  const char* sync = h.other.thread / 32u == t.warp ? "__syncthreads or __syncwarp" : "__syncthreads";
  const std::string first = std::string(h.kind) + " hazard on shared memory " +
                            describe_shared(g_shared.span.lo + h.byte) + ": " + h.other_verb + " by thread " +
                            thread_coords(h.other.thread, t.block_dim) + ", " + (is_write ? "written" : "read") +
                            " by thread " + thread_coords(t.linear, t.block_dim) + " with no " + sync + " between";
  const std::string details = std::string("  ") + h.other_verb + " at " + describe_pc(h.other.pc) + "\n  " +
                              (is_write ? "written" : "read") + " at " + describe_pc(pc) + "\n";
  record(Check::racecheck, error_of(Check::racecheck), first, details);
}

void reset_shared(std::size_t lo, std::size_t hi) {
  if (hi <= lo) return;
  // Fresh shared memory reads as 0xFF (NaN in every float type) even when initcheck is off.
  std::memset(g_shared.span.lo + lo, 0xFF, hi - lo);
  std::fill(g_shared.bytes.begin() + static_cast<std::ptrdiff_t>(lo),
            g_shared.bytes.begin() + static_cast<std::ptrdiff_t>(hi), SharedByte{});
}

void shared_access(const ThreadState& t, std::uintptr_t addr, std::size_t size, bool is_write,
                   std::uintptr_t pc, unsigned mask) {
  const std::size_t offset = addr - reinterpret_cast<std::uintptr_t>(g_shared.span.lo);
  const std::size_t end = std::min(offset + size, g_shared.bytes.size());
  if ((mask & bit(Check::memcheck)) != 0 && (size & (size - 1)) == 0 && size <= 16 &&
      addr % size != 0 && !repeat(Check::memcheck, pc)) {
    record(Check::memcheck, cudaErrorMisalignedAddress,
           std::string("misaligned shared ") + (is_write ? "write" : "read") + " of " + std::to_string(size) +
               " bytes at " + describe_shared(reinterpret_cast<const char*>(addr)),
           "  at " + describe_pc(pc) + "\n");
  }
  if ((mask & (bit(Check::racecheck) | bit(Check::initcheck))) == 0) return;
  g_shared.dirty_lo = std::min(g_shared.dirty_lo, offset);
  g_shared.dirty_hi = std::max(g_shared.dirty_hi, end);
  const bool race = (mask & bit(Check::racecheck)) != 0;
  const Touch now = touch_now(t, pc);
  Hazard hazard;
  std::size_t unwritten = end;  // the first byte read that no thread wrote
  for (std::size_t i = offset; i < end; ++i) {
    SharedByte& b = g_shared.bytes[i];
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
           "read of " + std::to_string(size) + " bytes of shared memory at " +
               describe_shared(g_shared.span.lo + unwritten) + " that no thread of this block wrote",
           "  at " + describe_pc(pc) + "\n");
  }
  if (hazard.kind != nullptr) report_hazard(hazard, t, is_write, pc);
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
  const char* verb = is_write ? "write" : "read";
  std::string problem;
  int error = cudaErrorIllegalAddress;
  if (!a.live) {
    problem = "address is byte +" + std::to_string(addr - base) + " of " + allocation_text(a) +
              ": use after free";
  } else if (addr < base) {
    problem = "address is " + std::to_string(base - addr) + " bytes before the start of " + allocation_text(a);
  } else if (addr + size > end) {
    problem = addr >= end ? "address is " + std::to_string(addr - end) + " bytes past the end of " + allocation_text(a)
                          : "access runs " + std::to_string(addr + size - end) + " bytes past the end of " +
                                allocation_text(a);
  } else if ((size & (size - 1)) == 0 && size <= 16 && addr % size != 0) {
    problem = "address is not a multiple of " + std::to_string(size) + " (byte +" + std::to_string(addr - base) +
              " of " + allocation_text(a) + ")";
    error = cudaErrorMisalignedAddress;
  }
  if (!problem.empty()) {
    if ((mask & bit(Check::memcheck)) != 0 && !repeat(Check::memcheck, pc)) {
      const char* what = !a.live ? "use after free: " : error == cudaErrorMisalignedAddress ? "misaligned " : "invalid ";
      record(Check::memcheck, error,
             std::string(what) + "global " + verb + " of " + std::to_string(size) + " bytes at " + hex(addr),
             "  " + problem + "\n  at " + describe_pc(pc) + "\n");
    }
    return;
  }
  if (is_write) {
    mark_written(reinterpret_cast<const void*>(addr), size);
    return;
  }
  const void* first = nullptr;
  if ((mask & bit(Check::initcheck)) != 0 && !all_written(reinterpret_cast<const void*>(addr), size, &first) &&
      !repeat(Check::initcheck, pc)) {
    const auto at = reinterpret_cast<std::uintptr_t>(first);
    record(Check::initcheck, error_of(Check::initcheck),
           "global read of " + std::to_string(size) + " bytes at " + hex(addr) + " reads memory never written",
           "  byte +" + std::to_string(at - base) + " of " + allocation_text(a) +
               " was never written (by a copy, a memset or a kernel)\n  at " + describe_pc(pc) + "\n");
  }
}

const std::size_t kMissed = 8;
std::uintptr_t g_missed[kMissed] = {};  // recent addresses that are in no allocation (0: empty)
const Allocation* g_recent[2] = {};     // live allocations recently accessed (kernels alternate inputs and outputs)

// Every instrumented access of a kernel file comes here first.
inline void on_access(std::uintptr_t addr, std::size_t size, bool is_write, std::uintptr_t pc) {
  const unsigned mask = g_mask;  // enabled_mask() was read by checks_launch_begin
  if ((mask & (bit(Check::memcheck) | bit(Check::initcheck) | bit(Check::racecheck))) == 0) return;
  const ThreadState* t = current_thread();
  if (t == nullptr) return;  // host code of a kernel file
  if (addr >= reinterpret_cast<std::uintptr_t>(t->stack_lo) && addr < reinterpret_cast<std::uintptr_t>(t->stack_hi)) {
    return;  // the thread's own locals
  }
  if (g_shared.span.contains(reinterpret_cast<const void*>(addr))) {
    shared_access(*t, addr, size, is_write, pc, mask);
    return;
  }
  // Anything else (kernel parameters, host statics, constants) is not checked: no map of them.
  // Those addresses repeat in every thread (the launch closure's captured arguments), so the last
  // few that missed skip the allocation lookup. Exact addresses, not pages: a page may hold an
  // allocation's edge. Allocations do not change during a launch; checks_launch_begin clears it.
  for (const Allocation* a : g_recent) {  // the common case, without the allocation table
    if (a != nullptr && addr >= reinterpret_cast<std::uintptr_t>(a->base) &&
        addr + size <= reinterpret_cast<std::uintptr_t>(a->base) + a->bytes) {
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
    missed = addr;
  }
}

}  // namespace

// ---- the contract of sim/state.h ------------------------------------------------------------------------

const char* check_name(Check check) {
  switch (check) {
    case Check::memcheck: return "memcheck";
    case Check::initcheck: return "initcheck";
    case Check::racecheck: return "racecheck";
    case Check::synccheck: return "synccheck";
    case Check::launch: return "launch";
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

bool check_enabled(Check check) {
  return check == Check::launch || (enabled_mask() & bit(check)) != 0;
}

int take_sticky_fault() {
  const int error = g_faults.pending_error;
  g_faults.pending_error = 0;
  return error;
}

void checks_launch_begin(const char* kernel) {
  enabled_mask();
  std::fill(std::begin(g_missed), std::end(g_missed), 0);
  std::fill(std::begin(g_recent), std::end(g_recent), nullptr);
  g_faults.kernel = kernel;
  g_faults.seen.clear();
}

void checks_block_begin() {
  const unsigned mask = enabled_mask();
  const Span span = shared_memory();
  const auto size = static_cast<std::size_t>(span.hi - span.lo);
  if (span.lo != g_shared.span.lo || size != g_shared.bytes.size()) {
    g_shared.span = span;
    g_shared.bytes.assign(size, SharedByte{});
    g_shared.reset_all = true;
  }
  if ((mask & (bit(Check::racecheck) | bit(Check::initcheck))) == 0) {
    g_shared.reset_all = true;  // this block's shared accesses go untracked
    return;
  }
  if (g_shared.reset_all) {
    reset_shared(0, size);
    g_shared.reset_all = false;
  } else {
    reset_shared(g_shared.dirty_lo, g_shared.dirty_hi);
  }
  g_shared.dirty_lo = size;
  g_shared.dirty_hi = 0;
}

void checks_launch_end() {
  for (const auto& [key, repeats] : g_faults.seen) {
    if (repeats == 0) continue;
    const auto check = static_cast<Check>(std::get<0>(key));
    const std::uintptr_t other_site = check == Check::racecheck ? std::get<2>(key) : 0;
    emit(std::string("loom-sim ") + check_name(check) + ": " + std::to_string(repeats) +
         " more like the report at " + describe_pc(std::get<1>(key)) +
         (other_site != 0 ? " and " + describe_pc(other_site) : "") + " in this launch of " + g_faults.kernel + "\n");
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

// ---- the compiler's per-access callbacks -------------------------------------------------------------------
// Left out of the LOOM_SIM_SANITIZE build: there the real ASan runtime defines these names and
// checks every access itself.
#if !defined(__SANITIZE_ADDRESS__)
#define LOOM_SIM_ACCESS_CALLBACKS(N)                                                                \
  extern "C" void __asan_load##N##_noabort(std::uintptr_t addr) {                                  \
    loom::sim::on_access(addr, N, false, reinterpret_cast<std::uintptr_t>(__builtin_return_address(0))); \
  }                                                                                                 \
  extern "C" void __asan_store##N##_noabort(std::uintptr_t addr) {                                 \
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
