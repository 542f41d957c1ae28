// sim/memory.cc: device memory of the simulator (the allocation half of sim/state.h).
//
// A "device" allocation is host memory laid out as
//
//     [ redzone 256 B | the caller's bytes, rounded up to 256 | redzone 256 B ]
//                     ^ base (256-byte aligned, as cudaMalloc's pointers are)
//
// The caller's bytes start as 0xFF (NaN in f32/f16/bf16, -1 in every int type), so a kernel that
// reads memory nobody wrote gets visibly wrong values even with the checks off. Beside the bytes
// lives a "written" shadow, one byte per byte, which mark_written() sets and initcheck reads.
//
// cudaFree does not give the memory back at once: the allocation stays in the table, marked
// dead, until the freed list holds more than kFreedKept entries or kFreedBytes bytes, so an access
// through a stale pointer is found and named "use after free" instead of landing in whatever the
// host allocator put there next.
//
// find_allocation() runs on every checked load and store of a kernel, so the table is a sorted
// map from the start of each allocation's low redzone (O(log n)), in front of which sits a small
// cache of the last few hits: a kernel's accesses go to a handful of buffers. The simulator runs on one host thread (loom calls CUDA from one thread), so nothing here
// locks.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>

#include "sim/memory.h"
#include "sim/state.h"

// Under AddressSanitizer (tools/sim_asan.sh) the checks' own callbacks are off and ASan is memcheck.
// ASan sees one host block per allocation, redzones included, so the redzones and the bytes of a
// freed allocation are poisoned for it by hand: an access there is then an ASan report.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define LOOM_SIM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define LOOM_SIM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define LOOM_SIM_POISON(p, n) ((void)(p), (void)(n))
#define LOOM_SIM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace loom::sim {
namespace {

constexpr std::size_t kAlign = 256;
constexpr std::size_t kRedzone = 256;
constexpr std::size_t kFreedKept = 256;                   // freed allocations remembered...
constexpr std::size_t kFreedBytes = std::size_t{256} << 20;  // ...up to this many bytes in all
constexpr unsigned char kPoison = 0xFF;

struct FreeDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};

struct Record {
  Allocation info;
  char* raw = nullptr;                 // what aligned_alloc returned: the low redzone's start
  std::size_t raw_bytes = 0;
  std::unique_ptr<unsigned char[], FreeDeleter> written;  // 1 = byte written since the allocation
  const char* lo() const { return info.base - kRedzone; }
  const char* hi() const { return info.base + info.bytes + kRedzone; }
};

struct Table {
  std::map<std::uintptr_t, Record> by_lo;  // key: address of the low redzone
  std::deque<std::uintptr_t> freed;        // keys of dead records, oldest first
  std::size_t freed_bytes = 0;
  std::size_t live_bytes = 0;
  std::uint64_t next_id = 1;
  // The last few records found, newest first: a kernel streams through a handful of buffers at
  // once (inputs and an output), so a single entry would be replaced on nearly every access.
  static constexpr int kCache = 4;
  const Record* recent[kCache] = {};
};

Table& table() {
  static Table t;
  return t;
}

std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

const Record* find_record(const void* p) {
  Table& t = table();
  const char* c = static_cast<const char*>(p);
  for (const Record* r : t.recent) {
    if (r != nullptr && c >= r->lo() && c < r->hi()) return r;
  }
  auto it = t.by_lo.upper_bound(reinterpret_cast<std::uintptr_t>(p));
  if (it == t.by_lo.begin()) return nullptr;
  --it;
  const Record& r = it->second;
  if (c >= r.hi()) return nullptr;
  for (int i = Table::kCache - 1; i > 0; --i) t.recent[i] = t.recent[i - 1];
  t.recent[0] = &r;
  return &r;
}

void release(std::map<std::uintptr_t, Record>::iterator it) {
  Table& t = table();
  for (const Record*& r : t.recent) {
    if (r == &it->second) r = nullptr;
  }
  LOOM_SIM_UNPOISON(it->second.raw, it->second.raw_bytes);
  std::free(it->second.raw);
  t.by_lo.erase(it);
}

// Drops the oldest freed allocations until the freed list is within its bounds.
void trim_freed() {
  Table& t = table();
  while (!t.freed.empty() && (t.freed.size() > kFreedKept || t.freed_bytes > kFreedBytes)) {
    auto it = t.by_lo.find(t.freed.front());
    t.freed.pop_front();
    if (it == t.by_lo.end()) continue;
    t.freed_bytes -= it->second.info.bytes;
    release(it);
  }
}

}  // namespace

void* device_alloc(std::size_t bytes) {
  Table& t = table();
  const std::size_t body = round_up(bytes == 0 ? 1 : bytes);
  const std::size_t raw_bytes = body + 2 * kRedzone;
  char* raw = static_cast<char*>(std::aligned_alloc(kAlign, raw_bytes));
  if (!raw) return nullptr;
  // calloc: the shadow's pages stay untouched (and zero) until a kernel writes there.
  auto* shadow = static_cast<unsigned char*>(std::calloc(bytes == 0 ? 1 : bytes, 1));
  if (!shadow) {
    std::free(raw);
    return nullptr;
  }
  std::memset(raw, kPoison, raw_bytes);
  LOOM_SIM_POISON(raw, kRedzone);
  LOOM_SIM_POISON(raw + kRedzone + bytes, raw_bytes - kRedzone - bytes);  // the rounding and the high redzone
  Record r;
  r.raw = raw;
  r.raw_bytes = raw_bytes;
  r.info.base = raw + kRedzone;
  r.info.bytes = bytes;
  r.info.id = t.next_id++;
  r.info.live = true;
  r.written.reset(shadow);
  t.by_lo[reinterpret_cast<std::uintptr_t>(raw)] = std::move(r);
  t.live_bytes += bytes;
  return raw + kRedzone;
}

DeviceFree device_free(void* p) {
  if (p == nullptr) return DeviceFree::ok;
  Table& t = table();
  const Record* found = find_record(p);
  if (!found || found->info.base != p) return DeviceFree::not_allocated;
  if (!found->info.live) return DeviceFree::double_free;
  auto it = t.by_lo.find(reinterpret_cast<std::uintptr_t>(found->raw));
  Record& r = it->second;
  r.info.live = false;
  std::memset(r.info.base, kPoison, r.info.bytes);  // stale reads see poison, not the old values
  LOOM_SIM_POISON(r.info.base, r.info.bytes);
  t.live_bytes -= r.info.bytes;
  t.freed.push_back(it->first);
  t.freed_bytes += r.info.bytes;
  trim_freed();
  return DeviceFree::ok;
}

std::size_t device_bytes_in_use() { return table().live_bytes; }

const Allocation* find_live(const void* p, std::size_t bytes) {
  const Record* r = find_record(p);
  if (!r || !r->info.live) return nullptr;
  const char* c = static_cast<const char*>(p);
  if (c < r->info.base || bytes > r->info.bytes || c - r->info.base > static_cast<std::ptrdiff_t>(r->info.bytes - bytes))
    return nullptr;
  return &r->info;
}

const Allocation* find_allocation(const void* p) {
  const Record* r = find_record(p);
  return r ? &r->info : nullptr;
}

void mark_written(const void* p, std::size_t bytes) {
  if (bytes == 0) return;
  const Record* r = find_record(p);
  if (!r || !r->info.live) return;  // host memory, or a fault the checks report
  // Only the part inside the allocation counts: a write into a redzone is memcheck's business.
  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(r->info.base);
  const std::uintptr_t lo = std::max(reinterpret_cast<std::uintptr_t>(p), base);
  const std::uintptr_t hi = std::min(reinterpret_cast<std::uintptr_t>(p) + bytes, base + r->info.bytes);
  if (hi <= lo) return;
  std::memset(r->written.get() + (lo - base), 1, hi - lo);
}

void copy_written(void* dst, const void* src, std::size_t bytes) {
  const Record* d = find_record(dst);
  const Record* s = find_record(src);
  if (!d || !s || bytes == 0) return;
  unsigned char* to = d->written.get() + (static_cast<const char*>(dst) - d->info.base);
  const unsigned char* from = s->written.get() + (static_cast<const char*>(src) - s->info.base);
  std::memmove(to, from, bytes);
}

bool all_written(const void* p, std::size_t bytes, const void** first) {
  if (bytes == 0) return true;
  const Record* r = find_record(p);
  if (!r) return true;  // not device memory: nothing to say
  const char* c = static_cast<const char*>(p);
  const char* end = r->info.base + r->info.bytes;
  if (!r->info.live || c < r->info.base || c >= end) {
    if (first) *first = p;  // freed or in a redzone: never written by anyone
    return false;
  }
  const std::size_t offset = static_cast<std::size_t>(c - r->info.base);
  const std::size_t in_bounds = bytes < r->info.bytes - offset ? bytes : r->info.bytes - offset;
  const unsigned char* shadow = r->written.get() + offset;
  if (in_bounds == bytes && bytes <= 16) {  // one kernel access: a loop beats a call to memchr
    std::size_t i = 0;
    while (i < bytes && shadow[i] != 0) ++i;
    if (i == bytes) return true;
  }
  const void* hole = std::memchr(shadow, 0, in_bounds);
  if (hole) {
    if (first) *first = c + (static_cast<const unsigned char*>(hole) - shadow);
    return false;
  }
  if (in_bounds < bytes) {
    if (first) *first = end;  // the range runs past the allocation
    return false;
  }
  return true;
}

}  // namespace loom::sim
