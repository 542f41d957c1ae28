// ops/profile.cc: the kernel profiler of ops/profile.h: the session's record list, the timers
// (steady_clock on the CPU, CUDA event pairs on a device), describe() for every kernel argument
// struct, and the roofline peaks.
#include "ops/profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "core/error.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/embedding/embedding.h"
#include "kernels/gemm/gemm.h"
#include "kernels/loss/loss.h"
#include "kernels/lstm/lstm.h"
#include "kernels/optim/optim.h"
#include "kernels/pool/pool.h"
#include "kernels/reduce/reduce.h"
#include "ops/tensor.h"

#if LOOM_WITH_CUDA
#include <cuda_runtime_api.h>

#include "core/cuda_context.h"
#endif

namespace loom::ops::profile {

namespace detail {
std::atomic<bool> g_recording{false};
}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

// What an open call needs beyond its record: the CPU start time or the CUDA event pair.
struct Timing {
  Clock::time_point t0;
  void* start = nullptr;  // cudaEvent_t
  void* stop = nullptr;
  bool cuda = false;
  int device_index = 0;
};

// The one session's state. Kernel calls normally come from one thread; the mutex makes a call
// from another thread (a data loader's, say) safe all the same.
struct State {
  std::mutex mu;
  bool open = false;
  std::vector<KernelRecord> records;
  std::vector<Timing> timing;
  int depth = 0;
  const char* phase = "-";
};

State& state() {
  static State s;
  return s;
}

#if LOOM_WITH_CUDA
cudaEvent_t event(void* e) { return static_cast<cudaEvent_t>(e); }
#endif

std::string fmt_int(std::int64_t v) { return std::to_string(v); }

}  // namespace

Session::Session() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  LOOM_CHECK(!s.open, "profile: a kernel profiling session is already open");
  s.open = true;
  s.records.clear();
  s.timing.clear();
  s.depth = 0;
  detail::g_recording.store(true, std::memory_order_relaxed);
}

Session::~Session() {
  if (!open_) return;
  try {
    finish();
  } catch (...) {  // a destructor never throws; the records are dropped anyway
  }
}

std::vector<KernelRecord> Session::finish() {
  LOOM_CHECK(open_, "profile: Session::finish() called twice");
  open_ = false;
  detail::g_recording.store(false, std::memory_order_relaxed);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.open = false;
  std::vector<KernelRecord> out = std::move(s.records);
  std::vector<Timing> timing = std::move(s.timing);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!timing[i].cuda) continue;
#if LOOM_WITH_CUDA
    // The one synchronization: wait for the stop event, then read the pair's GPU time.
    float ms = 0;
    if (timing[i].stop != nullptr) {
      LOOM_CUDA_CHECK(cudaEventSynchronize(event(timing[i].stop)));
      LOOM_CUDA_CHECK(cudaEventElapsedTime(&ms, event(timing[i].start), event(timing[i].stop)));
      LOOM_CUDA_WARN(cudaEventDestroy(event(timing[i].stop)));
    }
    LOOM_CUDA_WARN(cudaEventDestroy(event(timing[i].start)));
    out[i].time_us = 1000.0 * static_cast<double>(ms);
#endif
  }
  return out;
}

Phase::Phase(const char* name) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  previous_ = s.phase;
  s.phase = name;
}

Phase::~Phase() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.phase = previous_;
}

std::size_t begin_call(const char* op, const char* impl, const Device& device, KernelInfo info) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.open) return kNoToken;
  KernelRecord r;
  r.index = static_cast<int>(s.records.size()) + 1;
  r.depth = s.depth++;
  r.op = info.op != nullptr ? info.op : op;
  r.phase = s.phase;
  r.impl = impl;
  r.device = device.str();
  r.shapes = std::move(info.shapes);
  r.dtype = dtype_name(info.dtype);
  r.flops = info.flops;
  r.bytes = info.bytes;
  Timing t;
  if (!device.is_cpu()) {
    t.cuda = true;
    t.device_index = device.index;
#if LOOM_WITH_CUDA
    cudaEvent_t a = nullptr, b = nullptr;
    LOOM_CUDA_CHECK(cudaEventCreate(&a));
    LOOM_CUDA_CHECK(cudaEventCreate(&b));
    t.start = a;
    t.stop = b;
    LOOM_CUDA_CHECK(cudaEventRecord(a, cuda_context(device.index).stream()));
#endif
  }
  s.records.push_back(std::move(r));
  s.timing.push_back(t);
  // Last, so the lock and the bookkeeping above are not part of the CPU time.
  s.timing.back().t0 = Clock::now();
  return s.records.size() - 1;
}

void end_call(std::size_t token) {
  const Clock::time_point t1 = Clock::now();  // first, for the same reason
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.open || token >= s.records.size()) return;  // the session ended while the call ran
  --s.depth;
  Timing& t = s.timing[token];
  if (!t.cuda) {
    s.records[token].time_us = std::chrono::duration<double, std::micro>(t1 - t.t0).count();
    return;
  }
#if LOOM_WITH_CUDA
  LOOM_CUDA_CHECK(cudaEventRecord(event(t.stop), cuda_context(t.device_index).stream()));
#endif
}

// ---- describe(): shapes, dtype and cost of each kernel's arguments ----
namespace {

KernelInfo info(std::string shapes, DType dtype, const kernels::Cost& c) {
  KernelInfo k;
  k.shapes = std::move(shapes);
  k.dtype = dtype;
  k.flops = c.flops;
  k.bytes = c.bytes;
  return k;
}

// For the kernels without a cost() of their own: `flops` (or -1) and bytes = elements read and
// written times their size, as the brief's simple model says (inputs + outputs).
KernelInfo simple(std::string shapes, DType dtype, double flops, double bytes) {
  KernelInfo k;
  k.shapes = std::move(shapes);
  k.dtype = dtype;
  k.flops = flops;
  k.bytes = bytes;
  return k;
}

double sz(DType t) { return static_cast<double>(dtype_size(t)); }
double rw(GradMode m) { return m == GradMode::Accumulate ? 2.0 : 1.0; }  // an accumulated output is also read
std::string n_str(std::int64_t n) { return "n=" + fmt_int(n); }
std::string rc_str(std::int64_t rows, std::int64_t cols) { return "[" + fmt_int(rows) + "," + fmt_int(cols) + "]"; }
std::string tbc(std::int64_t T, std::int64_t B, std::int64_t C) {
  return "T=" + fmt_int(T) + " B=" + fmt_int(B) + " C=" + fmt_int(C);
}

}  // namespace

KernelInfo describe(const kernels::GemmArgs& a) {
  std::string s = "M=" + fmt_int(a.M) + " N=" + fmt_int(a.N) + " K=" + fmt_int(a.K);
  if (a.trans_a == kernels::Transpose::Yes || a.trans_b == kernels::Transpose::Yes)
    s += std::string(" ") + (a.trans_a == kernels::Transpose::Yes ? "T" : "N") +
         (a.trans_b == kernels::Transpose::Yes ? "T" : "N");
  return info(s, a.dtype, kernels::gemm_cost(a));
}
KernelInfo describe(const kernels::UnaryFwdArgs& a) { return info(n_str(a.n), a.dtype, kernels::unary_fwd_cost(a)); }
KernelInfo describe(const kernels::UnaryBwdArgs& a) {
  const double n = static_cast<double>(a.n);
  return simple(n_str(a.n), a.dtype, 2 * n, sz(a.dtype) * n * (2 + rw(a.mode)));  // y, dy in; dx out
}
KernelInfo describe(const kernels::BinaryArgs& a) {
  return info(rc_str(a.rows, a.cols) + (a.b_layout == kernels::Broadcast::Row ? " b=row" : ""), a.dtype,
              kernels::binary_cost(a));
}
KernelInfo describe(const kernels::ScaleArgs& a) {
  const double n = static_cast<double>(a.n);
  return simple(n_str(a.n), a.dtype, n, sz(a.dtype) * n * (1 + rw(a.mode)));
}
KernelInfo describe(const kernels::FillArgs& a) {
  return simple(n_str(a.n), a.dtype, -1, sz(a.dtype) * static_cast<double>(a.n));
}
KernelInfo describe(const kernels::CastArgs& a) {
  const double n = static_cast<double>(a.n);
  KernelInfo k = simple(n_str(a.n) + " " + dtype_name(a.src_dtype) + "->" + dtype_name(a.dst_dtype), a.src_dtype, -1,
                        n * (sz(a.src_dtype) + rw(a.mode) * sz(a.dst_dtype)));
  return k;
}
KernelInfo describe(const kernels::DropoutArgs& a) {
  const double n = static_cast<double>(a.n);
  return simple(n_str(a.n), a.dtype, n, sz(a.dtype) * n * (1 + rw(a.mode)));
}
KernelInfo describe(const kernels::CopyBlockArgs& a) {
  const double n = static_cast<double>(a.rows * a.cols);
  return simple(rc_str(a.rows, a.cols), a.dtype, -1, sz(a.dtype) * n * (1 + rw(a.mode)));
}
KernelInfo describe(const kernels::ReduceArgs& a) {
  return info(rc_str(a.rows, a.cols) + (a.dim == kernels::ReduceDim::First ? " dim=0" : " dim=1"), a.dtype,
              kernels::reduce_cost(a));
}
KernelInfo describe(const kernels::BroadcastArgs& a) {
  const double n = static_cast<double>(a.rows * a.cols);
  const double small = static_cast<double>(a.dim == kernels::ReduceDim::First ? a.cols : a.rows);
  return simple(rc_str(a.rows, a.cols), a.dtype, n, sz(a.dtype) * (small + rw(a.mode) * n));
}
KernelInfo describe(const kernels::SumSquaresArgs& a) {
  const double n = static_cast<double>(a.n);
  return simple(n_str(a.n), a.dtype, 2 * n, sz(a.dtype) * n + 4);
}
KernelInfo describe(const kernels::SgdArgs& a) {
  const double n = static_cast<double>(a.n);
  const double buffers = a.momentum != 0 ? 5 : 3;  // w, g in, w out (+ momentum in and out)
  return simple(n_str(a.n), DType::F32, 4 * n, 4 * n * buffers);
}
KernelInfo describe(const kernels::AdamWArgs& a) {
  return info(n_str(a.n), DType::F32, kernels::adamw_cost(a));
}
KernelInfo describe(const kernels::EmbeddingFwdArgs& a) {
  return info("ids=" + fmt_int(a.n) + " V=" + fmt_int(a.V) + " E=" + fmt_int(a.E), a.dtype,
              kernels::embedding_fwd_cost(a));
}
KernelInfo describe(const kernels::EmbeddingBwdArgs& a) {
  // Rows of dout added into dweight (read and written); Overwrite also zeroes the whole table.
  const double nE = static_cast<double>(a.n * a.E), VE = static_cast<double>(a.V * a.E);
  const double bytes = sz(a.dtype) * (nE + 2 * nE + (a.mode == GradMode::Overwrite ? VE : 0)) + 4.0 * a.n;
  return simple("ids=" + fmt_int(a.n) + " V=" + fmt_int(a.V) + " E=" + fmt_int(a.E), a.dtype, nE, bytes);
}
KernelInfo describe(const kernels::SoftmaxXentFwdArgs& a) {
  const double nk = static_cast<double>(a.N * a.K);
  return simple("N=" + fmt_int(a.N) + " K=" + fmt_int(a.K), a.dtype, -1, sz(a.dtype) * nk + 4.0 * a.N);
}
KernelInfo describe(const kernels::SoftmaxXentBwdArgs& a) {
  const double nk = static_cast<double>(a.N * a.K);
  return simple("N=" + fmt_int(a.N) + " K=" + fmt_int(a.K), a.dtype, -1,
                sz(a.dtype) * nk * (1 + rw(a.mode)) + 4.0 * a.N);
}
KernelInfo describe(const kernels::BceLogitsFwdArgs& a) {
  const double nk = static_cast<double>(a.N * a.K);
  return simple("N=" + fmt_int(a.N) + " K=" + fmt_int(a.K), a.dtype, -1, sz(a.dtype) * 2 * nk);
}
KernelInfo describe(const kernels::BceLogitsBwdArgs& a) {
  const double nk = static_cast<double>(a.N * a.K);
  return simple("N=" + fmt_int(a.N) + " K=" + fmt_int(a.K), a.dtype, -1, sz(a.dtype) * nk * (2 + rw(a.mode)));
}
KernelInfo describe(const kernels::MaxPool1dFwdArgs& a) {
  return info(tbc(a.T, a.B, a.C) + " k=" + fmt_int(a.kernel) + " s=" + fmt_int(a.stride), a.dtype,
              kernels::maxpool1d_fwd_cost(a));
}
KernelInfo describe(const kernels::MaxPool1dBwdArgs& a) {
  const double out = static_cast<double>(kernels::maxpool1d_out_T(a.T, a.kernel, a.stride) * a.B * a.C);
  const double in = static_cast<double>(a.T * a.B * a.C);
  return simple(tbc(a.T, a.B, a.C) + " k=" + fmt_int(a.kernel) + " s=" + fmt_int(a.stride), a.dtype, -1,
                out * (sz(a.dtype) + 4) + rw(a.mode) * in * sz(a.dtype));
}
KernelInfo describe(const kernels::GlobalPoolFwdArgs& a) {
  return info(tbc(a.T, a.B, a.C) + (a.op == kernels::TimeReduce::Max ? " max" : " mean"), a.dtype,
              kernels::global_pool_fwd_cost(a));
}
KernelInfo describe(const kernels::GlobalPoolBwdArgs& a) {
  const double bc = static_cast<double>(a.B * a.C), in = static_cast<double>(a.T * a.B * a.C);
  return simple(tbc(a.T, a.B, a.C) + (a.op == kernels::TimeReduce::Max ? " max" : " mean"), a.dtype, -1,
                bc * (sz(a.dtype) + 4) + rw(a.mode) * in * sz(a.dtype));
}
KernelInfo describe(const kernels::LstmSeqFwdArgs& a) {
  return info(tbc(a.T, a.B, a.C) + " H=" + fmt_int(a.H) + " D=" + std::to_string(a.D), a.dtype,
              kernels::lstm_seq_fwd_cost(a));
}
KernelInfo describe(const kernels::LstmSeqBwdArgs& a) {
  const kernels::LstmSeqFwdArgs& f = a.fwd;
  KernelInfo k = info(tbc(f.T, f.B, f.C) + " H=" + fmt_int(f.H) + " D=" + std::to_string(f.D), f.dtype,
                      kernels::lstm_seq_bwd_cost(a));
  k.op = "lstm_seq";
  return k;
}
namespace {
std::string conv_shapes(const kernels::Conv1dGeometry& g) {
  return tbc(g.T, g.B, g.C) + " F=" + fmt_int(g.F) + " K=" + fmt_int(g.K) +
         (g.dilation != 1 ? " dil=" + fmt_int(g.dilation) : std::string());
}
std::string textcnn_shapes(const kernels::TextCnnFwdArgs& a) {
  std::string s = tbc(a.T, a.B, a.C) + " K*F=";
  for (int w = 0; w < a.num_widths; ++w)
    s += (w ? "," : "") + fmt_int(a.widths[w].K) + "x" + fmt_int(a.widths[w].F);
  return s;
}
}  // namespace
KernelInfo describe(const kernels::Conv1dFwdArgs& a) {
  return info(conv_shapes(a.g), a.dtype, kernels::conv1d_fwd_cost(a));
}
KernelInfo describe(const kernels::Conv1dBwdArgs& a) {
  KernelInfo k = info(conv_shapes(a.g), a.dtype, kernels::conv1d_bwd_cost(a));
  k.op = "conv1d";
  return k;
}
KernelInfo describe(const kernels::TextCnnFwdArgs& a) {
  return info(textcnn_shapes(a), a.dtype, kernels::textcnn_fwd_cost(a));
}
KernelInfo describe(const kernels::TextCnnBwdArgs& a) {
  KernelInfo k = info(textcnn_shapes(a.fwd), a.fwd.dtype, kernels::textcnn_bwd_cost(a));
  k.op = "textcnn";
  return k;
}

// ---- roofline ----
double pct_of_roofline(double flops, double bytes, double seconds, const Peak& peak) {
  if (peak.flops_per_s <= 0 || !(seconds > 0) || flops < 0) return NAN;
  double floor_s = flops / peak.flops_per_s;
  if (peak.bytes_per_s > 0 && bytes > 0) floor_s = std::max(floor_s, bytes / peak.bytes_per_s);
  return 100.0 * floor_s / seconds;
}

Peak measure_cpu_peak(std::int64_t n, int reps) {
  // The fastest of several calls: a peak is a best case, and on a shared machine the slower calls
  // measure the neighbours, which would lower the roof and inflate every percentage.
  const Tensor a = Tensor::uniform({n, n}, -1.0f, 1.0f, 1), b = Tensor::uniform({n, n}, -1.0f, 1.0f, 2);
  Tensor c = Tensor::empty({n, n});
  kernels::GemmArgs g;
  g.M = g.N = g.K = n;
  g.A = a.data_ptr();
  g.B = b.data_ptr();
  g.C = c.data_ptr();
  g.lda = g.ldb = g.ldc = n;
  kernels::gemm_cpu(g);  // warm-up: thread pools start on the first call
  double best_s = INFINITY;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    kernels::gemm_cpu(g);
    best_s = std::min(best_s, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double gflops = 2.0 * static_cast<double>(n) * n * n / best_s / 1e9;
  char buf[128];
  std::snprintf(buf, sizeof buf, "measured F32 GEMM %lld^3 (best of %d): %.1f GFLOP/s; bytes not bounded",
                static_cast<long long>(n), reps, gflops);
  return {gflops * 1e9, 0, buf};
}

Peak gpu_peak(const std::string& name, DType dtype, bool tf32) {
  // NVIDIA's datasheets, dense math (the sparse tensor-core figures halved; sources in profile.h):
  // FP32, TF32, BF16/FP16 TFLOP/s and HBM TB/s. NVL parts: unknown.
  struct Row {
    const char* model;
    double fp32, tf32, half, hbm;
  };
  auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  const Row* row = nullptr;
  static const Row h200{"H200 SXM", 67, 494.5, 989.5, 4.8}, h100_pcie{"H100 PCIe", 51, 378, 756, 2.0},
      h100{"H100 SXM", 67, 494.5, 989.5, 3.35};
  if (has("NVL")) row = nullptr;
  else if (has("H200")) row = &h200;
  else if (has("H100") && has("PCIe")) row = &h100_pcie;
  else if (has("H100")) row = &h100;
  if (row == nullptr) return {0, 0, "unknown device '" + name + "': no peak, % of roofline omitted"};
  const double tflops = dtype == DType::F32 ? (tf32 ? row->tf32 : row->fp32) : row->half;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s datasheet: %.1f TFLOP/s dense, %.2f TB/s", row->model, tflops, row->hbm);
  return {tflops * 1e12, row->hbm * 1e12, buf};
}

}  // namespace loom::ops::profile
