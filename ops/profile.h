// ops/profile.h: the kernel profiler behind `loom trace --kernels` (issue 15): every kernel call
// that goes through ops/dispatch.h, in call order, with what it was given and how long it took.
//
// Off by default, and then it costs one predictable branch per kernel call (an atomic bool read
// relaxed, i.e. a plain load). On inside a profile::Session:
//
//   profile::Session session;                    // starts recording (one session at a time)
//   { profile::Phase p("forward");  ... model forward, loss ... }
//   { profile::Phase p("backward"); ... tape.backward(loss) ... }
//   std::vector<profile::KernelRecord> calls = session.finish();   // stops, resolves the times
//
// Each record: the op ("lstm_seq", "matmul", "adamw" ...), the phase the caller labelled, the
// implementation (the variant row "reference" / "cpu" / "cuda-v1" / "cuda-v2" / "cudnn" ... for
// the LSTM and conv families; "cpu" or "cuda" for the rest), the device, the shapes and dtype the
// kernel was given, its time and, where a cost model exists, its FLOPs and minimum bytes.
// Times: CPU kernels run synchronously, so steady_clock around the call is the kernel's time.
// CUDA kernels are asynchronous: a pair of CUDA events is recorded on the op's stream around the
// launch and read in finish(), which is the only place the profiler synchronizes (a mid-step
// synchronization would change what is being measured).
//
// Costs come from the kernels' own cost() functions (lstm, conv1d, textcnn, gemm, elementwise,
// reduce, pool, embedding, adamw); the few kernels without one get the simple model of their
// comment below (elementwise and reductions: bytes = inputs + outputs), or -1 ("-") when no count
// is meaningful.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace loom::kernels {
struct GemmArgs;
struct UnaryFwdArgs;
struct UnaryBwdArgs;
struct BinaryArgs;
struct ScaleArgs;
struct FillArgs;
struct CastArgs;
struct DropoutArgs;
struct CopyBlockArgs;
struct ReduceArgs;
struct BroadcastArgs;
struct SumSquaresArgs;
struct SgdArgs;
struct AdamWArgs;
struct EmbeddingFwdArgs;
struct EmbeddingBwdArgs;
struct SoftmaxXentFwdArgs;
struct SoftmaxXentBwdArgs;
struct BceLogitsFwdArgs;
struct BceLogitsBwdArgs;
struct MaxPool1dFwdArgs;
struct MaxPool1dBwdArgs;
struct GlobalPoolFwdArgs;
struct GlobalPoolBwdArgs;
struct LstmSeqFwdArgs;
struct LstmSeqBwdArgs;
struct Conv1dFwdArgs;
struct Conv1dBwdArgs;
struct TextCnnFwdArgs;
struct TextCnnBwdArgs;
}  // namespace loom::kernels

namespace loom::ops::profile {

// What one kernel call was given, from its argument struct (describe() below).
struct KernelInfo {
  const char* op = nullptr;  // set by the backward of the variant families, whose call site names no op
  std::string shapes;        // e.g. "M=64 N=512 K=128", "T=40 B=64 C=128 H=128 D=1"
  DType dtype = DType::F32;
  double flops = -1;         // -1: no cost model
  double bytes = -1;
};

struct KernelRecord {
  int index = 0;       // 1-based call order
  int depth = 0;       // 0, or 1+ for a kernel called while another one was running
  std::string op, phase, impl, device, shapes, dtype;
  double time_us = 0;  // CPU: wall time of the call; CUDA: GPU time between the event pair
  double flops = -1, bytes = -1;
};

namespace detail {
extern std::atomic<bool> g_recording;
}  // namespace detail

// Whether a Session is recording: the one test a kernel call pays when the profiler is off.
inline bool recording() { return detail::g_recording.load(std::memory_order_relaxed); }

// Records every kernel call from construction to finish() (or destruction). A second Session
// while one is open is a loom::Error.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Stops recording, waits for the CUDA events, returns the calls in order. Once only.
  std::vector<KernelRecord> finish();

 private:
  bool open_ = true;
};

// Labels the kernel calls made while it lives ("forward", "backward", "optimizer"); nests.
class Phase {
 public:
  explicit Phase(const char* name);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  const char* previous_;
};

// ---- the hook of ops/dispatch.h ----
constexpr std::size_t kNoToken = static_cast<std::size_t>(-1);
std::size_t begin_call(const char* op, const char* impl, const Device& device, KernelInfo info);
void end_call(std::size_t token);

// The shapes, dtype and cost of each kernel's arguments (profile.cc).
KernelInfo describe(const kernels::GemmArgs&);
KernelInfo describe(const kernels::UnaryFwdArgs&);
KernelInfo describe(const kernels::UnaryBwdArgs&);
KernelInfo describe(const kernels::BinaryArgs&);
KernelInfo describe(const kernels::ScaleArgs&);
KernelInfo describe(const kernels::FillArgs&);
KernelInfo describe(const kernels::CastArgs&);
KernelInfo describe(const kernels::DropoutArgs&);
KernelInfo describe(const kernels::CopyBlockArgs&);
KernelInfo describe(const kernels::ReduceArgs&);
KernelInfo describe(const kernels::BroadcastArgs&);
KernelInfo describe(const kernels::SumSquaresArgs&);
KernelInfo describe(const kernels::SgdArgs&);
KernelInfo describe(const kernels::AdamWArgs&);
KernelInfo describe(const kernels::EmbeddingFwdArgs&);
KernelInfo describe(const kernels::EmbeddingBwdArgs&);
KernelInfo describe(const kernels::SoftmaxXentFwdArgs&);
KernelInfo describe(const kernels::SoftmaxXentBwdArgs&);
KernelInfo describe(const kernels::BceLogitsFwdArgs&);
KernelInfo describe(const kernels::BceLogitsBwdArgs&);
KernelInfo describe(const kernels::MaxPool1dFwdArgs&);
KernelInfo describe(const kernels::MaxPool1dBwdArgs&);
KernelInfo describe(const kernels::GlobalPoolFwdArgs&);
KernelInfo describe(const kernels::GlobalPoolBwdArgs&);
KernelInfo describe(const kernels::LstmSeqFwdArgs&);
KernelInfo describe(const kernels::LstmSeqBwdArgs&);
KernelInfo describe(const kernels::Conv1dFwdArgs&);
KernelInfo describe(const kernels::Conv1dBwdArgs&);
KernelInfo describe(const kernels::TextCnnFwdArgs&);
KernelInfo describe(const kernels::TextCnnBwdArgs&);
// Any other argument struct: recorded with no shapes and no cost.
template <class Args>
KernelInfo describe(const Args&) {
  return {};
}

// One kernel call's record, open from construction to destruction (so a kernel that throws still
// closes it). Inert, and describe() not even called, when no Session records.
class Span {
 public:
  template <class Args>
  Span(const char* op, const char* impl, const Device& device, const Args& args) {
    if (recording()) token_ = begin_call(op, impl, device, describe(args));
  }
  ~Span() {
    if (token_ != kNoToken) end_call(token_);
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

 private:
  std::size_t token_ = kNoToken;
};

// ---- the roofline a record is compared with ----
// The one roofline model of the project (bench/common/roofline.h forwards here): roofline time =
// max(flops / peak_flops, bytes / peak_bytes), and pct = 100 * roofline time / measured time.
// peak_bytes 0 leaves the byte term out.
struct Peak {
  double flops_per_s = 0;  // 0: unknown, no percentage
  double bytes_per_s = 0;
  std::string source;
};
double pct_of_roofline(double flops, double bytes, double seconds, const Peak& peak);  // NaN when unknown
// CPU: the best of `reps` n^3 F32 GEMMs through the engine's own CPU GEMM (same threads).
Peak measure_cpu_peak(std::int64_t n = 1024, int reps = 5);
// GPU: NVIDIA's dense datasheet numbers by device name; the datasheets print sparse tensor-core
// figures, these are half of them:
//   H100 SXM5 (NVIDIA H100 Tensor Core GPU datasheet): FP32 67, TF32 494.5, BF16/FP16 989.5
//     TFLOP/s, HBM3 3.35 TB/s.
//   H100 PCIe (same datasheet): FP32 51, TF32 378, BF16/FP16 756 TFLOP/s, HBM2e 2.0 TB/s.
//   H200 SXM (NVIDIA H200 datasheet): compute as H100 SXM, HBM3e 4.8 TB/s.
// Anything else (including the NVL parts, whose clocks differ) -> unknown: 0, no percentage.
Peak gpu_peak(const std::string& device_name, DType dtype, bool tf32);

}  // namespace loom::ops::profile
