// core/cpu_features.h: what this CPU can run, detected once at run time with CPUID.
//
// A feature counts only when the CPU has it AND the operating system saves its register state:
// CPUID says what the silicon implements, XGETBV(0) (the XCR0 register) says which register files
// the OS enabled. AVX2 needs XCR0 bits 1-2 (SSE, AVX state); AVX-512 (F, BF16, FP16) also needs
// bits 5-7 (opmask, upper ZMM halves, ZMM16-31); AMX needs bits 17-18 (tile config, tile data).
// (Linux additionally asks a process to request AMX state with arch_prctl before the first tile
// instruction; oneDNN does that itself, so here AMX means "usable after that request".)
// CPUID bits used: leaf 1 ECX 27 OSXSAVE; leaf 7.0 EBX 5 AVX2, EBX 16 AVX512F, EDX 22 AMX-BF16,
// EDX 23 AVX512_FP16, EDX 24 AMX-TILE; leaf 7.1 EAX 5 AVX512_BF16; leaves 0x80000002-4 the brand.
// On a non-x86 build everything is false and the brand is empty.
//
// Who asks: kernels/gemm (is the oneDNN bf16 matmul native here?) and `loom doctor`.
//
// The CPU bf16 route is decided here too, because it depends only on this build (is oneDNN
// compiled in: LOOM_WITH_ONEDNN), this CPU and the environment, and `loom doctor` (floor 7, which
// may not name kernels::) must be able to say it. kernels/gemm follows the decision.
#pragma once

#include <string>

namespace loom {

struct CpuFeatures {
  bool x86 = false;  // compiled for x86-64 (CPUID available)
  bool avx2 = false;
  bool avx512f = false;
  bool avx512_bf16 = false;  // VDPBF16PS: bf16 dot products accumulating in F32
  bool avx512_fp16 = false;  // F16 arithmetic (Sapphire Rapids and later)
  bool amx_tile = false;
  bool amx_bf16 = false;     // bf16 tile multiply, F32 accumulation
  std::string brand;         // e.g. "AMD EPYC 9R14 96-Core Processor"
};

// Detected on the first call (thread-safe), then cached for the life of the process.
const CpuFeatures& cpu_features();

// One line, e.g. "AMD EPYC ... | AVX2 yes, AVX-512 yes, AVX512_BF16 yes, AVX512_FP16 no, AMX no".
std::string cpu_features_line();

// How CPU BF16 GEMMs run. native: oneDNN's matmul primitive with bf16 operands and F32
// accumulation, chosen when oneDNN is compiled in and the CPU has AVX512_BF16 or AMX-BF16, unless
// LOOM_CPU_BF16=emulate. Otherwise emulated: operands widened to F32, the F32 GEMM, C rounded once.
// LOOM_CPU_BF16 = auto (or unset) | native | emulate; native where it cannot run is an error.
struct CpuBf16Route {
  bool native = false;
  std::string why;    // why emulated ("this CPU has neither AVX512_BF16 nor AMX-BF16"), or empty
  std::string error;  // non-empty: LOOM_CPU_BF16 asks for what cannot run; every bf16 GEMM throws it
};
// The decision for a given LOOM_CPU_BF16 value ("" when unset), this build and this CPU.
CpuBf16Route decide_cpu_bf16(const std::string& wanted);
// decide_cpu_bf16(getenv("LOOM_CPU_BF16")), once per process: a run never switches routes.
const CpuBf16Route& cpu_bf16_route();

}  // namespace loom
