// sim/profile.cc: the simulator's profile (sim/profile.h, sim/README.md "Profile").
//
// sim/checks.cc hands every instrumented access of a running CUDA thread to profile_access() while a
// profiled launch runs. Each access is counted at once (bytes) and also filed into a *warp request*:
// on a GPU the 32 lanes of a warp execute a load instruction together, and the memory system serves
// all their addresses as one request. The simulator runs lanes one after another, so it rebuilds
// those requests afterwards: the accesses the lanes of one warp make at the same instruction (the
// same code address), the k-th time each lane reaches it since the warp's last sync point, are one
// request. A sync point (a released __syncthreads, a completed warp operation) and the end of the
// block close the warp's pending requests, and only then are they measured:
//   global memory: the distinct 32-byte sectors the request touches (a coalesced warp load of 32
//                  floats: 128 bytes = 4 sectors; a strided one: up to 32);
//   shared memory: 32 banks of 4-byte words; a request needs as many wavefronts as the busiest bank
//                  has distinct words (lanes reading the same word share it: a broadcast), and
//                  every wavefront beyond the fewest its size allows is a bank conflict.
// Lanes that diverge and reach a sync point apart, or partial-mask warp operations, can split or
// merge requests a GPU would form differently; for loom's kernels (full warps, full masks) the
// grouping is the GPU's.
#include "sim/profile.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>
#include <unordered_map>

#include "sim/checks_symbols.h"

namespace loom::sim {

bool g_profile_active = false;

namespace {

// One warp request being gathered: the sectors (global) or 4-byte words (shared) its lanes touched.
struct Request {
  bool shared = false;
  bool write = false;
  std::vector<std::uintptr_t> units;
};

// What one warp has pending since its last sync point.
struct WarpRequests {
  // For each code address, how many times each lane reached it: the k of the k-th occurrence.
  std::unordered_map<std::uintptr_t, std::array<std::uint32_t, 32>> reached;
  // (code address, occurrence, shared) -> the request.
  std::map<std::tuple<std::uintptr_t, std::uint32_t, bool>, Request> open;
};

struct Profiler {
  bool env_read = false;
  bool on = false;
  bool exit_print = false;  // LOOM_SIM_PROFILE=1 asked for the table at exit
  std::map<std::string, KernelProfile> kernels;
  KernelProfile* current = nullptr;
  unsigned block_threads = 0;
  std::vector<WarpRequests> warps;
  bool shared_loaded = false;
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> shared_vars;  // [begin, end), sorted
};

Profiler& prof() {
  static Profiler p;
  return p;
}

void print_at_exit() { profile_print(); }

void read_env(Profiler& p) {
  if (p.env_read) return;
  p.env_read = true;
  const char* v = std::getenv("LOOM_SIM_PROFILE");
  if (v != nullptr && v[0] != '\0' && std::string(v) != "0") {
    p.on = true;
    p.exit_print = true;
    std::atexit(&print_at_exit);
  }
}

// The __shared__ variables, found in the symbol table as the checks find them (sim/checks_symbols.h).
void load_shared(Profiler& p) {
  if (p.shared_loaded) return;
  p.shared_loaded = true;
  for (const symbols::Object& o : symbols::load_shared_variables(reinterpret_cast<const void*>(&print_at_exit))) {
    p.shared_vars.emplace_back(o.addr, o.addr + o.size);
  }
}

bool is_shared(const Profiler& p, std::uintptr_t addr) {
  auto it = std::upper_bound(p.shared_vars.begin(), p.shared_vars.end(), addr,
                             [](std::uintptr_t a, const std::pair<std::uintptr_t, std::uintptr_t>& v) {
                               return a < v.first;
                             });
  return it != p.shared_vars.begin() && addr < (it - 1)->second;
}

// Measures one finished request into the kernel's counters.
void measure(KernelProfile& k, Request& r) {
  std::sort(r.units.begin(), r.units.end());
  r.units.erase(std::unique(r.units.begin(), r.units.end()), r.units.end());
  const std::uint64_t n = r.units.size();
  if (!r.shared) {
    if (r.write) {
      ++k.store_requests;
      k.store_sectors += n;
    } else {
      ++k.load_requests;
      k.load_sectors += n;
    }
    return;
  }
  std::array<std::uint32_t, 32> per_bank{};
  for (std::uintptr_t word : r.units) ++per_bank[word % 32];
  const std::uint64_t wavefronts = *std::max_element(per_bank.begin(), per_bank.end());
  const std::uint64_t fewest = (n + 31) / 32;  // 8- and 16-byte accesses need several even without conflict
  ++k.shared_requests;
  k.shared_wavefronts += wavefronts;
  k.bank_conflicts += wavefronts - fewest;
}

void flush(Profiler& p, WarpRequests& w) {
  if (p.current != nullptr) {
    for (auto& [key, request] : w.open) measure(*p.current, request);
  }
  w.open.clear();
  w.reached.clear();
}

void flush_all(Profiler& p) {
  for (WarpRequests& w : p.warps) flush(p, w);
}

std::string dims(const Index3& d) {
  std::string s = std::to_string(d.x);
  if (d.y != 1 || d.z != 1) s += "," + std::to_string(d.y);
  if (d.z != 1) s += "," + std::to_string(d.z);
  return s;
}

std::string ratio(std::uint64_t num, std::uint64_t den) {
  if (den == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(num) / static_cast<double>(den));
  return buf;
}

}  // namespace

// ---- for users ------------------------------------------------------------------------------------

void set_profile(bool on) {
  Profiler& p = prof();
  read_env(p);
  p.on = on;
}

bool profile_on() {
  Profiler& p = prof();
  read_env(p);
  return p.on;
}

std::vector<KernelProfile> profile_snapshot() {
  std::vector<KernelProfile> out;
  for (const auto& [name, k] : prof().kernels) out.push_back(k);
  return out;
}

void profile_reset() {
  Profiler& p = prof();
  p.kernels.clear();
  p.current = nullptr;
}

std::string short_kernel_name(const std::string& kernel) {
  std::string s = kernel;
  for (const std::string cut : {"loom::kernels::", "(anonymous namespace)::", "loom::"}) {
    for (std::size_t at = s.find(cut); at != std::string::npos; at = s.find(cut)) s.erase(at, cut.size());
  }
  return s;
}

std::string profile_table(const std::vector<KernelProfile>& kernels) {
  struct Row {
    std::vector<std::string> cells;
  };
  const std::vector<std::string> head = {"kernel",  "launches", "grid x block", "read B",  "written B", "ld req",
                                         "sect/ld", "st req",   "sect/st",      "sh req",  "confl/req", "bar/thr"};
  std::vector<Row> rows;
  for (const KernelProfile& k : kernels) {
    rows.push_back({{short_kernel_name(k.kernel), std::to_string(k.launches), dims(k.grid) + " x " + dims(k.block),
                     std::to_string(k.bytes_read), std::to_string(k.bytes_written), std::to_string(k.load_requests),
                     ratio(k.load_sectors, k.load_requests), std::to_string(k.store_requests),
                     ratio(k.store_sectors, k.store_requests), std::to_string(k.shared_requests),
                     ratio(k.bank_conflicts, k.shared_requests), ratio(k.barriers, k.threads)}});
  }
  std::vector<std::size_t> width(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const Row& r : rows) width[c] = std::max(width[c], r.cells[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      s += c == 0 ? cells[c] + pad : "  " + pad + cells[c];  // names left, numbers right
    }
    return s + "\n";
  };
  std::string out = line(head);
  for (const Row& r : rows) out += line(r.cells);
  return out;
}

void profile_print() {
  const std::string text = "loom-sim profile (counts from the simulator, not GPU timings)\n" +
                           profile_table(profile_snapshot());
  const char* file = std::getenv("LOOM_SIM_PROFILE_FILE");
  if (file != nullptr && file[0] != '\0') {
    if (std::FILE* f = std::fopen(file, "w")) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
      return;
    }
    std::fprintf(stderr, "loom-sim: cannot write LOOM_SIM_PROFILE_FILE=%s; the profile follows\n", file);
  }
  std::fputs(text.c_str(), stderr);
}

// ---- hooks ----------------------------------------------------------------------------------------

void profile_launch_begin(const char* kernel, Index3 grid, Index3 block) {
  Profiler& p = prof();
  read_env(p);
  g_profile_active = p.on;
  if (!p.on) return;
  load_shared(p);
  KernelProfile& k = p.kernels[kernel];
  k.kernel = kernel;
  ++k.launches;
  k.grid = grid;
  k.block = block;
  p.current = &k;
  p.block_threads = block.x * block.y * block.z;
  p.warps.resize((p.block_threads + 31) / 32);
  flush_all(p);  // nothing is pending, but a previous launch may have been cut short
}

void profile_launch_end() {
  Profiler& p = prof();
  if (g_profile_active) flush_all(p);
  g_profile_active = false;
  p.current = nullptr;
}

void profile_access(std::uintptr_t addr, std::size_t size, bool is_write, std::uintptr_t pc) {
  Profiler& p = prof();
  const ThreadState* t = current_thread();
  if (t == nullptr || p.current == nullptr) return;  // host code of a kernel file
  if (addr >= reinterpret_cast<std::uintptr_t>(t->stack_lo) && addr < reinterpret_cast<std::uintptr_t>(t->stack_hi)) {
    return;  // the thread's locals: registers on a GPU
  }
  const bool shared = is_shared(p, addr);
  if (!shared) {
    const Allocation* a = find_allocation(reinterpret_cast<const void*>(addr));
    const auto base = a != nullptr ? reinterpret_cast<std::uintptr_t>(a->base) : 0;
    // Kernel parameters, host memory, out-of-bounds accesses (memcheck's business): not counted.
    if (a == nullptr || !a->live || addr < base || addr + size > base + a->bytes) return;
    (is_write ? p.current->bytes_written : p.current->bytes_read) += size;
  }
  WarpRequests& w = p.warps[t->warp];
  const std::uint32_t k = w.reached[pc][t->lane]++;
  Request& r = w.open[{pc, k, shared}];
  r.shared = shared;
  r.write = is_write;
  const std::uintptr_t unit = shared ? 4 : 32;
  for (std::uintptr_t u = addr / unit; u <= (addr + size - 1) / unit; ++u) r.units.push_back(u);
}

void profile_barrier(unsigned threads) {
  Profiler& p = prof();
  if (p.current == nullptr) return;
  p.current->barriers += threads;
  flush_all(p);
}

void profile_warp_sync(unsigned warp) {
  Profiler& p = prof();
  if (warp < p.warps.size()) flush(p, p.warps[warp]);
}

void profile_block_end() {
  Profiler& p = prof();
  if (p.current == nullptr) return;
  flush_all(p);
  p.current->threads += p.block_threads;
}

}  // namespace loom::sim
