// core/cpu_features.cc: CPUID / XGETBV detection behind core/cpu_features.h (the bits and why
// both instructions are needed are listed there), and the CPU bf16 route that follows from it.
// LOOM_WITH_ONEDNN is a private definition of the library (CMakeLists.txt).
#include "core/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LOOM_CPU_X86 1
#else
#define LOOM_CPU_X86 0
#endif

namespace loom {

namespace {

#if LOOM_CPU_X86
struct Regs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// CPUID leaf/subleaf; all zero when the leaf is beyond the CPU's maximum.
Regs cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  Regs r;
  if (__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx) == 0) return Regs{};
  return r;
}

// XCR0 through XGETBV, written as inline assembly so no -mxsave flag is needed. Only valid when
// CPUID says OSXSAVE (the caller checks).
std::uint64_t xcr0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

bool bit(std::uint32_t reg, int n) { return ((reg >> n) & 1u) != 0; }

std::string brand_string() {
  if (cpuid(0x80000000u, 0).eax < 0x80000004u) return {};
  char text[49] = {0};
  for (std::uint32_t i = 0; i < 3; ++i) {
    const Regs r = cpuid(0x80000002u + i, 0);
    std::memcpy(text + 16 * i, &r.eax, 4);
    std::memcpy(text + 16 * i + 4, &r.ebx, 4);
    std::memcpy(text + 16 * i + 8, &r.ecx, 4);
    std::memcpy(text + 16 * i + 12, &r.edx, 4);
  }
  std::string s(text);
  const auto first = s.find_first_not_of(' ');  // some vendors pad the brand on the left
  const auto last = s.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if LOOM_CPU_X86
  f.x86 = true;
  f.brand = brand_string();
  const std::uint32_t max_leaf = cpuid(0, 0).eax;
  const Regs l1 = cpuid(1, 0);
  if (!bit(l1.ecx, 27) || max_leaf < 7) return f;  // no OSXSAVE: the OS saves no AVX state at all
  const std::uint64_t x = xcr0();
  const bool os_avx = (x & 0x6u) == 0x6u;                          // bits 1, 2
  const bool os_avx512 = os_avx && (x & 0xE0u) == 0xE0u;           // bits 5, 6, 7
  const bool os_amx = (x & (3ull << 17)) == (3ull << 17);          // bits 17, 18
  const Regs l7 = cpuid(7, 0);
  const Regs l71 = l7.eax >= 1 ? cpuid(7, 1) : Regs{};  // leaf 7 EAX: the highest subleaf
  f.avx2 = os_avx && bit(l7.ebx, 5);
  f.avx512f = os_avx512 && bit(l7.ebx, 16);
  f.avx512_bf16 = f.avx512f && bit(l71.eax, 5);
  f.avx512_fp16 = f.avx512f && bit(l7.edx, 23);
  f.amx_tile = os_amx && bit(l7.edx, 24);
  f.amx_bf16 = f.amx_tile && bit(l7.edx, 22);
#endif
  return f;
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

std::string cpu_features_line() {
  const CpuFeatures& f = cpu_features();
  if (!f.x86) return "non-x86 CPU (no CPUID): no AVX-512 / AMX paths";
  std::string s = f.brand.empty() ? std::string("unknown x86 CPU") : f.brand;
  s += std::string(" | AVX2 ") + yes_no(f.avx2) + ", AVX-512 " + yes_no(f.avx512f) + ", AVX512_BF16 " +
       yes_no(f.avx512_bf16) + ", AVX512_FP16 " + yes_no(f.avx512_fp16) + ", AMX-BF16 " + yes_no(f.amx_bf16);
  return s;
}

namespace {

// Why this build and CPU cannot run native bf16, or empty when they can.
std::string bf16_missing() {
  if (!LOOM_WITH_ONEDNN) return "this build has no oneDNN (libdnnl-dev was not found at configure time)";
  const CpuFeatures& f = cpu_features();
  if (!f.avx512_bf16 && !f.amx_bf16) return "this CPU has neither AVX512_BF16 nor AMX-BF16";
  return {};
}

}  // namespace

CpuBf16Route decide_cpu_bf16(const std::string& wanted) {
  CpuBf16Route r;
  if (!wanted.empty() && wanted != "auto" && wanted != "native" && wanted != "emulate") {
    r.error = "LOOM_CPU_BF16=" + wanted + " is not one of auto, native, emulate";
    return r;
  }
  if (wanted == "emulate") {
    r.why = "LOOM_CPU_BF16=emulate";
    return r;
  }
  const std::string missing = bf16_missing();
  if (missing.empty()) {
    r.native = true;
  } else if (wanted == "native") {
    r.error = "LOOM_CPU_BF16=native, but " + missing;
  } else {
    r.why = missing;
  }
  return r;
}

const CpuBf16Route& cpu_bf16_route() {
  static const CpuBf16Route route = [] {
    const char* env = std::getenv("LOOM_CPU_BF16");
    return decide_cpu_bf16(env != nullptr ? env : "");
  }();
  return route;
}

}  // namespace loom
