// bench/common/roofline.h: the peak a measured time is compared with.
//
// The roofline time of a point is max(flops / peak_flops, bytes / peak_bytes_per_s), using the
// op's own cost() formulas; pct_roofline = 100 * roofline time / measured time. A recurrent
// network is latency-bound per step, so this percentage says how far from the machine's limit
// the WHOLE computation runs, not how good one kernel is.
//
// CPU: there is no reliable datasheet number for "this container's share of this EPYC", so the
// peak is measured: one large sgemm through kernels::gemm_cpu (the engine's own BLAS path, same
// threads) at start-up, printed, and used for GEMM-bound ops. Bandwidth is not measured (0: the
// byte term is left out), which is fine for the LSTM, whose GEMMs need ~100 flops per byte.
//
// GPU: a table by device name. Numbers are NVIDIA's datasheet values for DENSE math (the
// datasheets print sparse tensor-core figures; these are half of them):
//   H100 SXM5 (NVIDIA H100 Tensor Core GPU datasheet): FP32 67, TF32 494.5, BF16/FP16 989.5
//     TFLOP/s, HBM3 3.35 TB/s.
//   H100 PCIe (same datasheet): FP32 51, TF32 378, BF16/FP16 756 TFLOP/s, HBM2e 2.0 TB/s.
//   H200 SXM (NVIDIA H200 datasheet): compute as H100 SXM, HBM3e 4.8 TB/s.
// Anything else (including the NVL parts, whose clocks differ) -> no peak, pct omitted.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "bench/common/timer.h"
#include "core/dtype.h"
#include "ops/tensor.h"
#include "kernels/gemm/gemm.h"

namespace loom::bench {

struct Peak {
  double flops_per_s = 0;  // 0: unknown
  double bytes_per_s = 0;  // 0: unknown, the byte term is left out
  std::string source;      // printed next to the table
};

// Percent of the roofline reached, or NaN when the peak is unknown.
inline double pct_of_roofline(double flops, double bytes, double ms, const Peak& peak) {
  if (peak.flops_per_s <= 0 || !(ms > 0)) return NAN;
  double floor_s = flops / peak.flops_per_s;
  if (peak.bytes_per_s > 0) floor_s = std::max(floor_s, bytes / peak.bytes_per_s);
  return 100.0 * floor_s / (ms * 1e-3);
}

// GFLOP/s of an n x n x n F32 GEMM through the engine's CPU GEMM (loom::num_threads()), from the
// FASTEST of `reps` calls: a peak is a best case, and on a shared machine slower calls measure the
// neighbours' load, which would otherwise lower the roofline and inflate every percentage.
inline double measure_cpu_sgemm_gflops(std::int64_t n = 2048, int reps = 5) {
  const Tensor a = Tensor::uniform({n, n}, -1.0f, 1.0f, 1), b = Tensor::uniform({n, n}, -1.0f, 1.0f, 2);
  Tensor c = Tensor::empty({n, n});
  kernels::GemmArgs g;
  g.M = g.N = g.K = n;
  g.A = a.data_ptr();
  g.B = b.data_ptr();
  g.C = c.data_ptr();
  g.lda = g.ldb = g.ldc = n;
  kernels::gemm_cpu(g);  // warm-up: OpenBLAS starts its threads on the first call
  double best_ms = INFINITY;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    kernels::gemm_cpu(g);
    best_ms = std::min(best_ms, elapsed_ms(t0));
  }
  return 2.0 * static_cast<double>(n * n * n) / (best_ms * 1e-3) / 1e9;
}

inline Peak cpu_peak(double sgemm_gflops) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "measured sgemm 2048^3 (best of several): %.1f GFLOP/s", sgemm_gflops);
  return {sgemm_gflops * 1e9, 0, buf};
}

// Dense peaks of one GPU model, TFLOP/s and TB/s.
struct GpuPeaks {
  const char* model;
  double fp32, tf32, half;  // half: BF16 and FP16 tensor cores (same rate on Hopper)
  double hbm;
};

inline std::optional<GpuPeaks> gpu_peaks(const std::string& device_name) {
  auto has = [&](const char* s) { return device_name.find(s) != std::string::npos; };
  if (has("NVL")) return std::nullopt;
  if (has("H200")) return GpuPeaks{"H200 SXM", 67, 494.5, 989.5, 4.8};
  if (has("H100") && has("PCIe")) return GpuPeaks{"H100 PCIe", 51, 378, 756, 2.0};
  if (has("H100")) return GpuPeaks{"H100 SXM", 67, 494.5, 989.5, 3.35};
  return std::nullopt;
}

// The peak that bounds an F32 (SIMT or TF32 tensor cores) or F16/BF16 (tensor cores) computation.
inline Peak gpu_peak(const std::string& device_name, DType dtype, bool tf32) {
  const std::optional<GpuPeaks> p = gpu_peaks(device_name);
  if (!p) return {0, 0, "unknown device '" + device_name + "': no peak, % of roofline omitted"};
  const double tflops = dtype == DType::F32 ? (tf32 ? p->tf32 : p->fp32) : p->half;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s datasheet: %.1f TFLOP/s dense, %.2f TB/s", p->model, tflops, p->hbm);
  return {tflops * 1e12, p->hbm * 1e12, buf};
}

}  // namespace loom::bench
