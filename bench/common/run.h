// bench/common/run.h: the measuring half of every bench driver, the same for each kernel family:
// the seeded master values of a point's inputs and weights, the dtype cases a point runs at, the
// normwise check of a candidate against the CPU reference, the smaller extent a too-costly
// reference is validated at, timing one step on the CPU or GPU, and turning a timed row into a
// finished one (throughput, % of roofline, torch's time beside it, a JSON line and a progress
// line). A driver keeps only its family's own part: shapes, inputs, how to call the op and which
// rows of its variant table to run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/common/report.h"
#include "bench/common/roofline.h"
#include "bench/common/timer.h"
#include "core/compiled.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "ops/tensor.h"

namespace loom::bench {

// A point's F32 master values, drawn one tensor after another from one seeded stream, so the
// values a tensor gets depend only on the tensors drawn before it: U(-bound, bound) each.
class UniformDraws {
 public:
  explicit UniformDraws(std::uint64_t seed) : seed_(seed) {}
  Tensor operator()(const Shape& dims, float bound) {
    Tensor t = Tensor::uniform(dims, -bound, bound, seed_, offset_);
    offset_ += 2 * static_cast<std::uint64_t>(numel(dims));  // the next tensor starts past this one's draws
    return t;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// One storage type a point runs at; tf32 only for F32 on a GPU.
struct DtypeCase {
  DType dtype;
  bool tf32;
};

// Named host copies of a run's outputs and gradients, in a fixed order per family.
using Named = std::vector<std::pair<std::string, std::vector<float>>>;

// Normwise: max |a - e| / max |e| per tensor, the worst tensor named. A wrong kernel gives O(1).
inline double worst_rel_err(const Named& got, const Named& want, std::string* where) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& a = got[i].second;
    const auto& e = want[i].second;
    LOOM_CHECK(a.size() == e.size(), "bench: ", got[i].first, " has ", a.size(), " values, reference ", e.size());
    double diff = 0, scale = 1e-30;
    for (std::size_t k = 0; k < a.size(); ++k) {
      diff = std::max(diff, std::fabs(static_cast<double>(a[k]) - e[k]));
      scale = std::max(scale, std::fabs(static_cast<double>(e[k])));
    }
    if (!(diff / scale <= worst)) worst = diff / scale, *where = got[i].first;  // NaN wins too
  }
  return worst;
}

// The CPU reference of a large point can cost more than the whole timed run (and the GPU machine
// has no tuned BLAS), so it is validated along one independent extent (the LSTM's time steps, the
// convolution's rows) shortened in proportion to `budget_gflop`, never below 8 (or n itself).
inline std::int64_t validation_extent(std::int64_t n, double reference_gflop, double budget_gflop) {
  if (reference_gflop <= budget_gflop) return n;
  return std::max<std::int64_t>(std::min<std::int64_t>(n, 8),
                                static_cast<std::int64_t>(n * budget_gflop / reference_gflop));
}

// What a run resolved from the command line (bench/engine/engine.cc fills it), shared by all the
// rows it measures.
struct RunSettings {
  Device device = Device::cpu();
  std::vector<DtypeCase> dtypes;
  std::vector<std::string> phases;
  std::string impl = "all";  // the --impl filter; each family reads it its own way
  int warmup = 3, reps = 20;
  double validate_gflop = 0;
  std::map<std::string, std::vector<TorchTime>> torch;  // point_key -> torch's timings
  double budget_s = 0;      // > 0: time each row for about this long (reps is then a cap)
  std::ofstream json;       // --jsonl: one line per row
  std::ostream* log = nullptr;  // progress lines (one per row); none when null
  std::string device_name;  // the GPU's name, or the CPU GEMM provider
  Peak cpu_peak;            // measured once at start (CPU runs only)
};

// TF32 is a property of the device's context, read by every F32 GEMM and convolution (ours,
// cuBLAS's and cuDNN's).
inline void set_math_mode(Device device, [[maybe_unused]] MathMode mode) {
  if (device.is_cuda()) LOOM_IF_CUDA(cuda_context(device.index).math_mode = mode);
}

inline Peak peak_for(const RunSettings& run, const DtypeCase& c) {
  return run.device.is_cpu() ? run.cpu_peak : gpu_peak(run.device_name, c.dtype, c.tf32);
}

inline std::string error_status(const std::exception& e) { return std::string("error: ") + e.what(); }

// Times `step` into row->time (and row->wall on a GPU); an exception becomes the row's status,
// worded by `status_of` (a family may call some refusals "unsupported" rather than errors).
inline void time_row(const RunSettings& run, const std::function<void()>& step, int warmup, int reps, Row* row,
                     const std::function<std::string(const std::exception&)>& status_of = error_status) {
  try {
    if (run.device.is_cpu()) {
      row->time = time_cpu(step, warmup, reps, run.budget_s);
    } else {
      const GpuStats g = time_gpu(run.device.index, step, warmup, reps, run.budget_s);
      row->time = g.events;
      row->wall = g.wall;
    }
  } catch (const std::exception& e) {
    row->status = status_of(e);
  }
}

// The status of a candidate whose outputs differ from the reference: it is not timed.
inline std::string mismatch_status(double err, double tol, const std::string& worst) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "MISMATCH (err %.1e > tol %.0e, worst: %s)", err, tol, worst.c_str());
  return buf;
}

inline bool is_ok(const std::string& status) { return status.rfind("ok", 0) == 0; }

// Fills in what follows from the time and the work (`gflop` over the useful work, `bytes` the
// minimum traffic), joins torch's timings of the same point, writes the JSON line and a progress
// line on stderr, and keeps the row for the table.
inline void finish_row(RunSettings& run, const Peak& peak, double bytes, Row row, std::vector<Row>& rows) {
  row.tflops = row.gflop / (row.time.median * 1e-3) / 1e3;
  row.bytes = bytes;
  row.pct_roofline = pct_of_roofline_ms(row.gflop * 1e9, bytes, row.time.median, peak);
  const auto t = run.torch.find(point_key(row));
  if (t != run.torch.end()) {
    row.torch = t->second;
    for (TorchTime& tt : row.torch) tt.pct_roofline = pct_of_roofline_ms(row.gflop * 1e9, bytes, tt.time.median, peak);
    row.ratio_vs_torch = row.torch.front().time.median / row.time.median;
  }
  if (run.json.is_open()) run.json << to_json(row).dump() << std::endl;
  if (run.log)
    *run.log << point_key(row) << " " << row.impl << (row.variant.empty() ? "" : "/" + row.variant) << ": "
             << fmt("%.3f", row.time.median) << " ms (p10 " << fmt("%.3f", row.time.p10) << ", p90 "
             << fmt("%.3f", row.time.p90) << ") " << row.status << std::endl;
  rows.push_back(std::move(row));
}

// The exit status of a run: 1 when any row failed validation or errored.
inline int exit_status(const std::vector<Row>& rows) {
  for (const Row& r : rows)
    if (r.status.rfind("MISMATCH", 0) == 0 || r.status.rfind("FAIL", 0) == 0 || r.status.rfind("error", 0) == 0)
      return 1;
  return 0;
}

}  // namespace loom::bench
