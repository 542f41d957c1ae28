// sim/scheduler.cc: runs a kernel launch (sim/launch.h) and implements the synchronization the
// device language is built on (block_barrier, warp_sync, warp_exchange in sim/device.h).
//
// A launch runs its blocks one after another. The threads of a block are fibers (sim/fiber.h),
// resumed in rounds: in each round every runnable fiber runs until it reaches a sync point
// (__syncthreads, a warp shuffle/vote/__syncwarp) or exits, then switches back here. A sync point
// completes the moment its last participant arrives, and releases everyone waiting at it:
//   - __syncthreads: when every live (not exited) thread of the block waits at the barrier;
//   - a warp operation with mask m: when every lane of m waits at a warp operation with mask m.
// A round in which no fiber can run while some still wait is a deadlock: it is reported as
// synccheck, the block's fibers are abandoned and the rest of the launch is skipped.
//
// Fibers are created once and reused: fiber i always serves thread i of whatever block runs, and
// after a thread exits its fiber waits at the top of its loop for the next block.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "sim/device.h"
#include "sim/fiber.h"
#include "sim/launch.h"
#include "sim/profile.h"
#include "sim/state.h"

// The linker defines these for a section whose name is a C identifier. Weak: a program with no
// __shared__ variable has no such section, and both are then null.
extern "C" char __start_loom_sim_shared[] __attribute__((weak));
extern "C" char __stop_loom_sim_shared[] __attribute__((weak));

namespace loom::sim {
namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxSharedBytes = 48 * 1024;

enum class Wait { none, barrier, warp, exited };

// What a lane waiting at a warp operation asked for.
enum class WarpOp { sync, exchange, shuffle, ballot };
const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::exchange: return "a warp exchange";
    case WarpOp::shuffle: return "a __shfl*_sync";
    case WarpOp::ballot: return "a vote (__ballot/__any/__all_sync)";
  }
  return "a warp operation";
}

struct SimThread {
  ThreadState state;
  Wait wait = Wait::none;
  // While wait == warp: the mask it waits with, the operation, and for a shuffle the lane it reads,
  // where its answer goes and how many bytes (a vote's answer is an unsigned).
  unsigned mask = 0;
  WarpOp op = WarpOp::sync;
  int src_lane = -1;
  void* result = nullptr;
  std::size_t bytes = 0;
  const void* const* view = nullptr;  // what the last completed exchange returns to this lane
};

struct Warp {
  unsigned exists = 0;   // lanes this block has (a partial last warp has fewer than 32)
  unsigned exited = 0;
  unsigned arrived = 0;  // lanes waiting at a warp operation
  const void* posted[32] = {};
  // The answer of a completed exchange, indexed by the lowest lane of its mask: two groups of one
  // warp in flight at once are disjoint, so their lowest lanes differ.
  const void* views[32][32] = {};
};

// splitmix64: small, and the same sequence on every platform (std::shuffle's is not specified).
struct Rng {
  std::uint64_t state = 0;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }  // the bias is irrelevant here
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
};

struct Scheduler {
  Fiber* host = nullptr;
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::vector<SimThread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned> order;
  SimThread* running = nullptr;
  unsigned running_index = 0;

  void (*body)(void*) = nullptr;
  void* closure = nullptr;
  unsigned block_threads = 0;
  unsigned live = 0, at_barrier = 0;
  bool abandon = false;  // a kernel threw or a deadlock was found: skip the rest of the launch

  bool seed_set = false;
  std::uint64_t seed = 0;
  Rng rng;
  SchedulerStats stats;
};

Scheduler& sched() {
  thread_local Scheduler s;
  return s;
}

void fiber_main(void* arg);

// Switches from the running fiber back to the scheduler; returns when the scheduler resumes it.
void yield_to_scheduler() {
  Scheduler& s = sched();
  Fiber::switch_to(s.fibers[s.running_index].get(), s.host);
}

void fiber_main(void* arg) {
  const auto index = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(arg));
  for (;;) {
    Scheduler& s = sched();
    try {
      s.body(s.closure);
    } catch (const std::exception& e) {
      report_fault(Check::launch, std::string("the kernel threw: ") + e.what());
      s.abandon = true;
    } catch (...) {
      report_fault(Check::launch, "the kernel threw an exception that is not a std::exception");
      s.abandon = true;
    }
    s.threads[index].wait = Wait::exited;
    yield_to_scheduler();
  }
}

void ensure_fibers(Scheduler& s, unsigned n) {
  if (s.host == nullptr) s.host = Fiber::for_current_thread();
  while (s.fibers.size() < n) {
    const auto index = static_cast<std::uintptr_t>(s.fibers.size());
    s.fibers.push_back(std::make_unique<Fiber>(&fiber_main, reinterpret_cast<void*>(index)));
  }
  if (s.threads.size() < n) s.threads.resize(n);
  const unsigned nwarps = (n + 31) / 32;
  if (s.warps.size() < nwarps) s.warps.resize(nwarps);
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// "3", "3..7", "0..15 and 20": the indices i of [0, n) with pick(i), as ranges.
template <class Pick>
std::string ranges(unsigned n, Pick pick) {
  std::string out;
  for (unsigned i = 0; i < n;) {
    if (!pick(i)) { ++i; continue; }
    unsigned j = i;
    while (j + 1 < n && pick(j + 1)) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(i);
    if (j > i) out += ".." + std::to_string(j);
    i = j + 1;
  }
  return out;
}

// Names who waits where when no fiber can run: a summary line, then one line per stuck group.
std::string describe_deadlock(const Scheduler& s) {
  const unsigned n = s.block_threads;
  std::string summary = "deadlock: no thread of the block can continue";
  std::string details;
  if (s.at_barrier > 0) {
    summary += "; __syncthreads reached by " + std::to_string(s.at_barrier) + " of " + std::to_string(s.live) +
               " live threads";
    details += "\nthreads " + ranges(n, [&](unsigned i) { return s.threads[i].wait == Wait::barrier; }) +
               " wait at __syncthreads";
  }
  for (unsigned w = 0; w < (n + 31) / 32; ++w) {
    const Warp& warp = s.warps[w];
    const SimThread* lanes = &s.threads[w * 32];
    const unsigned nlanes = n - w * 32 < 32 ? n - w * 32 : 32;
    unsigned described = 0;
    for (unsigned l = 0; l < nlanes; ++l) {
      if (lanes[l].wait != Wait::warp || (described >> l & 1u)) continue;
      const unsigned mask = lanes[l].mask;
      unsigned waiting = 0;  // lanes waiting with this same mask
      for (unsigned k = 0; k < nlanes; ++k) {
        if (lanes[k].wait == Wait::warp && lanes[k].mask == mask) waiting |= 1u << k;
      }
      described |= waiting;
      const std::string who = "threads " + ranges(n, [&](unsigned i) {
                                return i / 32 == w && (waiting >> (i % 32) & 1u);
                              });
      if (described == waiting) summary += "; " + who + " wait in " + op_name(lanes[l].op);
      details += "\nwarp " + std::to_string(w) + ": " + who + " wait in " + op_name(lanes[l].op) +
                 " with mask " + hex(mask) + ", which names";
      const unsigned missing = mask & ~waiting;
      // The missing lanes, grouped by what they do instead.
      auto name_missing = [&](const char* what, auto pick) {
        const std::string r = ranges(32, [&](unsigned k) { return (missing >> k & 1u) && pick(k); });
        if (!r.empty()) details += " lanes " + r + ", which " + what + ";";
      };
      name_missing("exited", [&](unsigned k) { return (warp.exited >> k & 1u) != 0; });
      name_missing("wait at __syncthreads", [&](unsigned k) { return lanes[k].wait == Wait::barrier; });
      name_missing("wait in a warp operation with another mask", [&](unsigned k) {
        return lanes[k].wait == Wait::warp;
      });
    }
  }
  return summary + details;
}

// Releases the block barrier if every live thread waits at it.
void maybe_release_barrier(Scheduler& s) {
  if (s.at_barrier == 0 || s.at_barrier != s.live) return;
  for (unsigned i = 0; i < s.block_threads; ++i) {
    SimThread& t = s.threads[i];
    if (t.wait != Wait::barrier) continue;
    t.wait = Wait::none;
    ++t.state.barrier_epoch;
  }
  if (g_profile_active) profile_barrier(s.at_barrier);
  s.at_barrier = 0;
}

// Completes the warp operation of `mask` in warp w if every lane of it has arrived with that mask.
// Every lane of the group is stopped, so the values they posted (on their stacks) are all readable.
void maybe_complete_warp_op(Scheduler& s, unsigned w, unsigned mask) {
  Warp& warp = s.warps[w];
  if ((warp.arrived & mask) != mask) return;
  SimThread* lanes = &s.threads[w * 32];
  const WarpOp op = lanes[__builtin_ctz(mask)].op;
  bool same_op = true;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(mask >> l & 1u)) continue;
    if (lanes[l].mask != mask) return;  // met a lane waiting with another mask: not complete
    same_op = same_op && lanes[l].op == op && lanes[l].bytes == lanes[__builtin_ctz(mask)].bytes;
  }
  if (!same_op && check_enabled(Check::synccheck)) {
    s.running = &lanes[__builtin_ctz(mask)];
    report_fault(Check::synccheck, "the lanes of mask " + hex(mask) + " of warp " + std::to_string(w) +
                                       " met in different warp operations (divergent code paths)");
    s.running = nullptr;
  }
  switch (op) {
    case WarpOp::sync:
      break;
    case WarpOp::exchange: {
      const void** view = warp.views[__builtin_ctz(mask)];
      for (unsigned l = 0; l < 32; ++l) view[l] = (mask >> l & 1u) ? warp.posted[l] : nullptr;
      for (unsigned l = 0; l < 32; ++l) {
        if (mask >> l & 1u) lanes[l].view = view;
      }
      break;
    }
    case WarpOp::shuffle:
      for (unsigned l = 0; l < 32; ++l) {
        if (!(mask >> l & 1u)) continue;
        const int src = lanes[l].src_lane;
        if (src < 0 || src >= 32 || !(mask >> src & 1u) || lanes[src].op != WarpOp::shuffle) continue;
        std::memcpy(lanes[l].result, warp.posted[src], lanes[l].bytes);
      }
      break;
    case WarpOp::ballot: {
      unsigned ballot = 0;
      for (unsigned l = 0; l < 32; ++l) {
        if ((mask >> l & 1u) && *static_cast<const int*>(warp.posted[l]) != 0) ballot |= 1u << l;
      }
      for (unsigned l = 0; l < 32; ++l) {
        if (mask >> l & 1u) *static_cast<unsigned*>(lanes[l].result) = ballot;
      }
      break;
    }
  }
  for (unsigned l = 0; l < 32; ++l) {
    if (!(mask >> l & 1u)) continue;
    lanes[l].wait = Wait::none;
    ++lanes[l].state.warp_epoch;
  }
  warp.arrived &= ~mask;
  if (g_profile_active) profile_warp_sync(w);
}

void resume(Scheduler& s, unsigned i) {
  SimThread& t = s.threads[i];
  threadIdx = uint3{t.state.thread.x, t.state.thread.y, t.state.thread.z};
  s.running = &t;
  s.running_index = i;
  ++s.stats.switches;
  Fiber::switch_to(s.host, s.fibers[i].get());
  s.running = nullptr;
  switch (t.wait) {
    case Wait::exited:
      --s.live;
      s.warps[i / 32].exited |= 1u << (i % 32);
      maybe_release_barrier(s);  // exited threads no longer count toward __syncthreads
      break;
    case Wait::barrier:
      maybe_release_barrier(s);
      break;
    case Wait::warp:
      maybe_complete_warp_op(s, i / 32, t.mask);
      break;
    case Wait::none:
      break;
  }
}

// Abandons every fiber of the block that is stopped inside the kernel; nothing on their stacks is
// destroyed (a stuck kernel's locals are plain values; unwinding across fibers is not possible).
void abandon_block(Scheduler& s) {
  for (unsigned i = 0; i < s.block_threads; ++i) {
    if (s.threads[i].wait != Wait::exited) s.fibers[i]->reset();
  }
}

void run_block(Scheduler& s, const LaunchShape& shape, const Index3& block) {
  const unsigned bx = shape.block.x, by = shape.block.y;
  const unsigned n = s.block_threads;
  blockIdx = uint3{block.x, block.y, block.z};
  for (unsigned i = 0; i < n; ++i) {
    SimThread& t = s.threads[i];
    ThreadState& st = t.state;
    st.kernel = shape.kernel;
    st.block = block;
    st.thread = Index3{i % bx, (i / bx) % by, i / (bx * by)};
    st.block_dim = Index3{shape.block.x, shape.block.y, shape.block.z};
    st.grid_dim = Index3{shape.grid.x, shape.grid.y, shape.grid.z};
    st.linear = i;
    st.warp = i / 32;
    st.lane = i % 32;
    st.barrier_epoch = 0;
    st.warp_epoch = 0;
    st.stack_lo = s.fibers[i]->stack_lo();
    st.stack_hi = s.fibers[i]->stack_hi();
    t.wait = Wait::none;
    t.mask = 0;
    t.view = nullptr;
  }
  for (unsigned w = 0; w < (n + 31) / 32; ++w) {
    Warp& warp = s.warps[w];
    const unsigned lanes = n - w * 32 < 32 ? n - w * 32 : 32;
    warp.exists = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
    warp.exited = 0;
    warp.arrived = 0;
  }
  s.live = n;
  s.at_barrier = 0;
  checks_block_begin();
  ++s.stats.blocks;

  s.order.resize(n);
  for (unsigned i = 0; i < n; ++i) s.order[i] = i;
  while (s.live > 0) {
    if (s.seed != 0) s.rng.shuffle(s.order);
    bool ran = false;
    for (unsigned i : s.order) {
      if (s.threads[i].wait != Wait::none) continue;
      resume(s, i);
      ran = true;
      if (s.abandon) break;
    }
    if (s.abandon) break;
    if (!ran) {
      // The report names the block through a thread "at fault": the first one stuck in a warp
      // operation (those name the missing lanes), else the first at the barrier.
      for (unsigned i = 0; i < n && s.running == nullptr; ++i) {
        if (s.threads[i].wait == Wait::warp) s.running = &s.threads[i];
      }
      for (unsigned i = 0; i < n && s.running == nullptr; ++i) {
        if (s.threads[i].wait == Wait::barrier) s.running = &s.threads[i];
      }
      report_fault(Check::synccheck, describe_deadlock(s));
      s.running = nullptr;
      s.abandon = true;
      break;
    }
  }
  if (g_profile_active) profile_block_end();
  if (s.abandon) abandon_block(s);
}

bool valid_shape(const LaunchShape& shape) {
  const dim3 g = shape.grid, b = shape.block;
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0) return false;
  if (g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) return false;
  if (b.x > 1024 || b.y > 1024 || b.z > 64) return false;
  if (static_cast<std::uint64_t>(b.x) * b.y * b.z > kMaxThreadsPerBlock) return false;
  // Static __shared__ sizes are not known per kernel here (every kernel's variables share one
  // section), so only the dynamic part is checked.
  return shape.dynamic_shared_bytes <= kMaxSharedBytes;
}

std::uint64_t seed_from_env() {
  const char* v = std::getenv("LOOM_SIM_SEED");
  return v == nullptr ? 0 : std::strtoull(v, nullptr, 10);
}

// The sync points only make sense on a CUDA thread; a host call (a __device__ function called from a
// test, say) would otherwise crash on a null pointer with no hint.
Scheduler& sched_in_kernel(const char* what) {
  Scheduler& s = sched();
  if (s.running == nullptr) {
    std::fprintf(stderr, "loom-sim: %s called outside a kernel launch\n", what);
    std::abort();
  }
  return s;
}

}  // namespace

// ---- the sim API (sim/device.h) -----------------------------------------------------------------

void block_barrier() {
  Scheduler& s = sched_in_kernel("__syncthreads");
  s.running->wait = Wait::barrier;
  ++s.at_barrier;
  yield_to_scheduler();
}

namespace {
// Every warp operation: post, wait until the group of `mask` completes (maybe_complete_warp_op).
void warp_op(unsigned mask, WarpOp op, const void* mine, void* result, std::size_t bytes, int src_lane) {
  Scheduler& s = sched_in_kernel(op_name(op));
  SimThread& t = *s.running;
  const unsigned lane = t.state.lane;
  Warp& warp = s.warps[t.state.warp];
  // Lanes past the end of a partial last warp do not exist; a full mask there means "all lanes".
  mask &= warp.exists;
  if (!(mask >> lane & 1u)) {
    if (check_enabled(Check::synccheck)) {
      report_fault(Check::synccheck, std::string(op_name(op)) + " with mask " + hex(mask) +
                                         " does not include the calling lane " + std::to_string(lane) +
                                         " (undefined behavior in CUDA)");
    }
    mask |= 1u << lane;  // carry on as if it did
  }
  t.wait = Wait::warp;
  t.mask = mask;
  t.op = op;
  t.result = result;
  t.bytes = bytes;
  t.src_lane = src_lane;
  warp.posted[lane] = mine;
  warp.arrived |= 1u << lane;
  yield_to_scheduler();
}
}  // namespace

void warp_sync(unsigned mask) { warp_op(mask, WarpOp::sync, nullptr, nullptr, 0, -1); }

const void* const* warp_exchange(unsigned mask, const void* mine) {
  warp_op(mask, WarpOp::exchange, mine, nullptr, 0, -1);
  return sched().running->view;
}

void warp_shuffle(unsigned mask, const void* mine, void* result, std::size_t bytes, int src_lane) {
  warp_op(mask, WarpOp::shuffle, mine, result, bytes, src_lane);
}

unsigned warp_ballot(unsigned mask, int predicate) {
  unsigned ballot = 0;
  warp_op(mask, WarpOp::ballot, &predicate, &ballot, sizeof ballot, -1);
  return ballot;
}

unsigned lane_id() { return sched_in_kernel("lane_id").running->state.lane; }

unsigned active_mask() {
  const Scheduler& s = sched_in_kernel("__activemask");
  const Warp& warp = s.warps[s.running->state.warp];
  return warp.exists & ~warp.exited;
}

// ---- state.h ---------------------------------------------------------------------------------------

const ThreadState* current_thread() {
  const SimThread* t = sched().running;
  return t == nullptr ? nullptr : &t->state;
}

Span shared_memory() { return Span{__start_loom_sim_shared, __stop_loom_sim_shared}; }

// ---- sim/launch.h ------------------------------------------------------------------------------------

void set_schedule_seed(std::uint64_t seed) {
  Scheduler& s = sched();
  s.seed_set = true;
  s.seed = seed;
  s.rng.state = seed;
}

std::uint64_t schedule_seed() {
  Scheduler& s = sched();
  if (!s.seed_set) set_schedule_seed(seed_from_env());
  return s.seed;
}

SchedulerStats scheduler_stats() { return sched().stats; }

void launch(const LaunchShape& shape, void (*body)(void* closure), void* closure) {
  Scheduler& s = sched();
  if (s.running != nullptr) {
    report_fault(Check::launch, "a kernel launched a kernel (dynamic parallelism is not simulated)");
    s.abandon = true;
    return;
  }
  if (!valid_shape(shape)) {
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  schedule_seed();  // reads LOOM_SIM_SEED on the first launch
  const unsigned n = shape.block.x * shape.block.y * shape.block.z;
  ensure_fibers(s, n);
  s.body = body;
  s.closure = closure;
  s.block_threads = n;
  s.abandon = false;
  gridDim = shape.grid;
  blockDim = shape.block;
  ++s.stats.launches;
  checks_launch_begin(shape.kernel);
  profile_launch_begin(shape.kernel, Index3{shape.grid.x, shape.grid.y, shape.grid.z},
                       Index3{shape.block.x, shape.block.y, shape.block.z});

  const std::uint64_t gx = shape.grid.x, gy = shape.grid.y;
  const std::uint64_t blocks = gx * gy * shape.grid.z;
  auto run_linear = [&](std::uint64_t b) {
    const Index3 block{static_cast<unsigned>(b % gx), static_cast<unsigned>(b / gx % gy),
                       static_cast<unsigned>(b / (gx * gy))};
    run_block(s, shape, block);
  };
  if (s.seed == 0) {
    for (std::uint64_t b = 0; b < blocks && !s.abandon; ++b) run_linear(b);
  } else if (blocks <= (1u << 24)) {
    std::vector<std::uint32_t> perm(blocks);
    for (std::uint64_t b = 0; b < blocks; ++b) perm[b] = static_cast<std::uint32_t>(b);
    s.rng.shuffle(perm);
    for (std::uint64_t b = 0; b < blocks && !s.abandon; ++b) run_linear(perm[b]);
  } else {
    // Too many blocks to permute: start at a drawn block and wrap around.
    const std::uint64_t first = s.rng.below(blocks);
    for (std::uint64_t b = 0; b < blocks && !s.abandon; ++b) run_linear((first + b) % blocks);
  }
  checks_launch_end();
  profile_launch_end();
  s.body = nullptr;
  s.closure = nullptr;
}

}  // namespace loom::sim
