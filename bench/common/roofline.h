// bench/common/roofline.h: the peak a measured time is compared with.
//
// The roofline time of a point is max(flops / peak_flops, bytes / peak_bytes_per_s), using the
// op's own cost() formulas; pct_roofline = 100 * roofline time / measured time. A recurrent
// network is latency-bound per step, so this percentage says how far from the machine's limit
// the WHOLE computation runs, not how good one kernel is.
//
// The model and its numbers live in ONE place, ops/profile.{h,cc} (where `loom trace --kernels`
// uses them too); this header only adapts them to the benchmark's units (milliseconds, GFLOP/s).
//
// CPU: there is no reliable datasheet number for "this container's share of this EPYC", so the
// peak is measured: one large sgemm through kernels::gemm_cpu (the engine's own BLAS path, same
// threads) at start-up, printed, and used for GEMM-bound ops. Bandwidth is not measured (0: the
// byte term is left out), which is fine for the LSTM, whose GEMMs need ~100 flops per byte.
// GPU: NVIDIA's dense datasheet table by device name (see ops::profile::gpu_peak).
#pragma once

#include <cstdio>
#include <string>

#include "core/dtype.h"
#include "ops/profile.h"

namespace loom::bench {

using Peak = ops::profile::Peak;

// Percent of the roofline reached in `ms` milliseconds, or NaN when the peak is unknown. (Named apart
// from ops::profile::pct_of_roofline, which takes seconds and which argument lookup would also find.)
inline double pct_of_roofline_ms(double flops, double bytes, double ms, const Peak& peak) {
  return ops::profile::pct_of_roofline(flops, bytes, ms * 1e-3, peak);
}

// GFLOP/s of an n x n x n F32 GEMM through the engine's CPU GEMM (loom::num_threads()), from the
// FASTEST of `reps` calls (a peak is a best case; slower calls measure the neighbours' load).
inline double measure_cpu_sgemm_gflops(std::int64_t n = 2048, int reps = 5) {
  return ops::profile::measure_cpu_peak(n, reps).flops_per_s / 1e9;
}

inline Peak cpu_peak(double sgemm_gflops) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "measured sgemm 2048^3 (best of several): %.1f GFLOP/s", sgemm_gflops);
  return {sgemm_gflops * 1e9, 0, buf};
}

// The peak that bounds an F32 (SIMT or TF32 tensor cores) or F16/BF16 (tensor cores) computation.
inline Peak gpu_peak(const std::string& device_name, DType dtype, bool tf32) {
  return ops::profile::gpu_peak(device_name, dtype, tf32);
}

}  // namespace loom::bench
