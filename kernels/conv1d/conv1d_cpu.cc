// kernels/conv1d/conv1d_cpu.cc: 1-D convolution over time and the fused text-CNN block on the CPU,
// the engine's CPU training path (row "cpu" of conv1d_variants.h): K accumulated GEMMs on BLAS.
// The plain loops that read like the formulas are the reference, conv1d_reference.cc; the tests
// hold this file against them.
//
// Math (conv1d.h fixes the layout: x [T, B, C], weight [F, K, C], y [T', B, F], s_k = k*dil - pad_left):
//   y[t', b, f] = bias[f] + sum_k sum_c weight[f, k, c] * x[t' + s_k, b, c]     (x outside [0, T) is 0)
// Backward, from dy = dL/dy. Each x[t, b, c] is read once by every (t', k) with t' + s_k = t, and
// each weight[f, k, c] by every (t', b); the chain rule sums over exactly those readers:
//   dx[t, b, c]      = sum_k sum_f dy[t - s_k, b, f] * weight[f, k, c]    (0 <= t - s_k < T')
//   dweight[f, k, c] = sum_t' sum_b dy[t', b, f] * x[t' + s_k, b, c]      (0 <= t' + s_k < T)
//   dbias[f]         = sum_t' sum_b dy[t', b, f]
//
// The GEMM view. Time-major means x[t] is a contiguous [B, C] matrix and a run of times is a
// contiguous [rows * B, C] block. For tap k, the output times that read inside x are the interval
// t' in [max(0, -s_k), min(T', T - s_k)) (tap_range below), and the x rows they read are that
// interval shifted by s_k: also ONE contiguous block. With W_k = weight[:, k, :] an [F, C] matrix of
// row stride K*C, each tap is one GEMM on shifted views, no im2col copy:
//   Y[t0:t1]            += X[t0 + s_k : t1 + s_k] . W_k^T     [n B, C] x [C, F]     (forward)
//   dX[t0 + s_k : ...]  += dY[t0:t1] . W_k                     [n B, F] x [F, C]     (backward data)
//   dweight[:, k, :]    (+)= dY[t0:t1]^T . X[t0 + s_k : ...]   [F, n B] x [n B, C]   (ldc = K*C)
//   dbias               (+)= column sums of dY = 1^T . dY       [1, T' B] x [T' B, F]
// Y starts as the broadcast bias, dX as zeros (Overwrite), so rows that some tap never reaches
// (all-padding windows) come out right. Each tap's range is what keeps padding out of the GEMMs.
//
// The fused text-CNN block (textcnn_*): every width's conv above (bias included) into a scratch
// [T'_w, B, F_w], then one pass per row b: the running max over t' < out_len_b of the pre-ReLU
// value, first index on ties, then ReLU of the winner (max and ReLU commute, so this is the
// relu-then-max of conv1d.h). The backward is sparse: only (b, f) with pooled > 0 send gradient,
// and only through the K input rows that the winning window read:
//   g = dpooled[b, f] [pooled > 0], t* = argmax:  dbias[f] += g;  dweight[f, k, :] += g x[t* + s_k, b, :];
//   dx[t* + s_k, b, :] += g weight[f, k, :]
// A NaN wins the max (the first NaN seen is the argmax), so it propagates as in torch.max and
// reaches the loss, where the F16 loss scaler sees it instead of having it silently dropped.
//
// Parallel map. GEMMs run OUTSIDE parallel regions, where the GEMM library threads each call
// itself (architecture 11b: our threads or BLAS threads, never both). With OpenBLAS, which has
// threads of its own, the loops between its GEMMs (the bias broadcast, the max pass) are serial,
// because on 2 cores an OpenMP region right next to OpenBLAS-threaded calls was measured to stall
// for milliseconds when OpenMP threads spin (a 1.2 MB fill in a parallel region between sgemms:
// 4.2 ms median in one run, 0.08 ms in the next; serially a steady 0.06 ms; core/parallel.h).
// oneDNN (the default) runs on loom's own OpenMP threads, so there those loops are OpenMP loops
// too (loops_beside_gemm_parallel). The zero fill of the GEMM form's dx stays serial, and dbias
// is a GEMM. Our own OpenMP loops split independent outputs, so no two threads write one element
// and sums keep a fixed order: text-CNN forward: every width's GEMMs, then one pass over batch
// rows b (a running max per row). text-CNN backward: dx by batch row b (row b of dx is written only by
// pooled row b); dweight by filter f, summing over b in increasing order; dbias serially. Those
// two float row loops run as textcnn_bwd_avx512.cc's AVX-512 rows where the CPU has AVX-512F/BW/VL
// (each output row summed in registers and stored once: the same terms in the same order, no
// fused multiply-add, so the bits of the plain rows below, which run elsewhere).
//
// FLOPs and bytes (conv1d_*_cost / textcnn_*_cost compute exactly these; s = storage size):
//   conv forward   2 T' B F K C   (taps that read padding included: the reference loops skip
//                  them, a tiled GPU kernel multiplies zeros)
//                  bytes s (T B C + F K C + F [bias] + T' B F)
//   conv backward  2 T' B F K C for dx, the same for dweight, T' B F for dbias (each if wanted)
//                  bytes s (T' B F [dy] + T B C [x, for dweight] + F K C [weight, for dx]
//                  + T B C [dx] + F K C [dweight] + F [dbias]), an output counted twice when it
//                  accumulates (read and written)
//   text-CNN fwd   sum_w 2 T'_w B F_w (K_w C + 1)   (conv, then one bias add and one compare per
//                  position), bytes s (T B C + sum_w F_w (K_w C + 1) + B SF) + 4 B SF [argmax]
//                  + 4 B [lengths]: the fused block never writes the conv output, SF = sum_w F_w
//   text-CNN bwd   sum_w (2 B F_w K_w C [dx] + 2 B F_w K_w C [dweight] + B F_w [dbias]), bytes
//                  s 2 B SF [pooled, dpooled] + 4 B SF [argmax] + s T B C [x, for dweight]
//                  + s sum_w F_w K_w C [weight, for dx] + the outputs as for the conv
// At B = 64, T = 50, C = 128, F = 100, K = 3 the conv is 236 MFLOP per direction against ~3 MB of
// traffic: compute-bound, so the CPU path runs at whatever BLAS reaches on [3072, 128] x [128, 100].
// The scratches (text-CNN's sum_w T'_w B F_w conv outputs, the widened F16/BF16 copies, dbias's
// row of ones) are this implementation's extra traffic and are not counted.
//
// Precision: F32 and F64 run in their own type. BF16 (the mixed-precision path) keeps its inputs
// in bf16 and hands them to the bf16 GEMM as they are (gemm_cpu: oneDNN's bf16 matmul on an
// AVX512_BF16 CPU, else widened inside the GEMM), with C an F32 accumulator (GemmOut::F32): the K
// taps of y, of dx and of dweight, and dbias's column sums, each add into one F32 buffer (y starts
// as the bias, an Accumulate gradient as its widened old value), rounded to bf16 once at the end.
// Each product of two bf16 values is exact in F32, so the result is the F32 path's on the
// bf16-valued inputs up to the order of F32 additions, plus that one rounding. The fused text-CNN
// forward does the same (F32 conv scratch, F32 running max, pooled rounded once); its sparse
// backward has no GEMM: with the AVX-512 rows, x and dx stay bf16 (widened in registers, each dx
// element rounded once from its F32 sum) and the small rest is widened once; without them, like
// F16 everywhere, every input is widened to F32 once at entry, the float path runs and each output
// is rounded once (an accumulating output is widened first, so the sum happens in F32 and rounds
// once: conv1d_cpu_common.h).
//
// Twins: kernels/conv1d/conv1d_reference.cc (the oracle), conv1d_cuda*.cu (rows cuda-v1, cuda-v2,
// cuda-v3) and conv1d_cudnn.cc (cuDNN, 1-D as 2-D). Tests: tests/kernels/test_conv1d_cpu.cc (every
// row == reference, F64 finite differences, fused == composed, F16/BF16, cost, T < K). Bench:
// bench/engine/conv1d.cc (`loom bench conv1d`). Tutorial: kernels/conv1d/README.md. Pooling: kernels/pool/pool_cpu.cc.
#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cpu_common.h"
#include "kernels/gemm/gemm.h"

namespace loom::kernels {

namespace {

using std::int64_t;
using namespace conv1d_cpu;

template <typename S>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<S, double>) return DType::F64;
  if constexpr (std::is_same_v<S, BFloat16>) return DType::BF16;
  return DType::F32;
}

// One GEMM with operands of storage type S and C of type Acc: S == Acc (F32, F64) is the plain
// GEMM; S = BFloat16 with Acc = float is the bf16 GEMM with an F32 C (GemmOut::F32), so the K taps'
// sums land in one F32 accumulator and are rounded once by the caller.
// GEMMs here are always called outside parallel regions, so BLAS threads them itself.
template <typename S, typename Acc>
void gemm(Transpose ta, Transpose tb, int64_t M, int64_t N, int64_t K, const S* A, int64_t lda, const S* B,
          int64_t ldb, float beta, Acc* Cout, int64_t ldc) {
  static_assert(std::is_same_v<S, Acc> || (std::is_same_v<S, BFloat16> && std::is_same_v<Acc, float>));
  GemmArgs g;
  g.trans_a = ta, g.trans_b = tb;
  g.M = M, g.N = N, g.K = K;
  g.beta = beta;
  g.dtype = dtype_of<S>();
  g.out = std::is_same_v<S, Acc> ? GemmOut::Storage : GemmOut::F32;
  g.A = A, g.lda = lda, g.B = B, g.ldb = ldb, g.C = Cout, g.ldc = ldc;
  gemm_cpu(g);
}

// Output times [begin, end) at which tap k reads inside x; it reads row t' + shift there.
struct TapRange {
  int64_t begin, end, shift;
};

TapRange tap_range(const Conv1dGeometry& g, int64_t k) {
  const int64_t shift = k * g.dilation - g.pad_left;
  const int64_t begin = std::max<int64_t>(0, -shift);
  const int64_t end = std::min(g.out_T(), g.T - shift);
  return {begin, std::max(begin, end), shift};
}

bool parallel_worth(int64_t work) { return work > loom::kParallelGrain; }

// Whether a loop between GEMMs may be an OpenMP loop: yes when the CPU GEMM runs on loom's own
// OpenMP threads (oneDNN, the default), no when it has threads of its own (OpenBLAS: "BLAS-only"
// in the opening comment).
bool loops_beside_gemm_parallel(int64_t work) { return parallel_worth(work) && !cpu_gemm_has_own_threads(); }

// ---- the GEMM form --------------------------------------------------------------------------------

// S: the storage type of x, weight, bias; C: y's type, the accumulator (S itself, or float for BF16).
// taps: optional, the weight repacked as [K, F, C] (tap_major below), so tap k's [F, C] matrix has
// row stride C instead of K*C.
template <typename S, typename C>
void conv_gemm_fwd(const Conv1dGeometry& g, const S* x, const S* weight, const S* bias, C* y,
                   const S* taps = nullptr) {
  const int64_t rows = g.out_T() * g.B, F = g.F;
#pragma omp parallel for num_threads(loom::num_threads()) if (loops_beside_gemm_parallel(rows * F))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t f = 0; f < F; ++f) y[r * F + f] = bias != nullptr ? static_cast<C>(to_float(bias[f])) : C(0);
  for (int64_t k = 0; k < g.K; ++k) {
    const TapRange tr = tap_range(g, k);
    if (tr.end == tr.begin) continue;  // this tap reads only padding
    gemm<S, C>(Transpose::No, Transpose::Yes, (tr.end - tr.begin) * g.B, F, g.C, x + (tr.begin + tr.shift) * g.B * g.C,
            g.C, taps != nullptr ? taps + k * F * g.C : weight + k * g.C, taps != nullptr ? g.C : g.K * g.C, 1.0f,
            y + tr.begin * g.B * F, F);
  }
}

// S: the storage type of x, weight, dy; C: the type of dx, dweight, dbias (S, or float for BF16).
// The pointers and modes are those of Conv1dBwdArgs (an absent gradient is nullptr).
template <typename S, typename C>
void conv_gemm_bwd(const Conv1dGeometry& g, const S* x, const S* weight, const S* dy, C* dx, C* dweight, C* dbias,
                   GradMode input_mode, GradMode param_mode) {
  const int64_t B = g.B, Cin = g.C, F = g.F, KC = g.K * g.C;
  if (dx != nullptr) {
    if (input_mode == GradMode::Overwrite) std::fill_n(dx, g.T * B * Cin, C(0));  // serial: BLAS-only
    for (int64_t k = 0; k < g.K; ++k) {
      const TapRange tr = tap_range(g, k);
      if (tr.end == tr.begin) continue;
      gemm<S, C>(Transpose::No, Transpose::No, (tr.end - tr.begin) * B, Cin, F, dy + tr.begin * B * F, F,
                 weight + k * Cin, KC, 1.0f, dx + (tr.begin + tr.shift) * B * Cin, Cin);
    }
  }
  if (dweight != nullptr) {
    const float beta = param_mode == GradMode::Accumulate ? 1.0f : 0.0f;
    for (int64_t k = 0; k < g.K; ++k) {
      const TapRange tr = tap_range(g, k);
      if (tr.end == tr.begin) {  // a tap that only ever read padding has a zero gradient
        if (param_mode == GradMode::Overwrite)
          for (int64_t f = 0; f < F; ++f) std::fill_n(dweight + f * KC + k * Cin, Cin, C(0));
        continue;
      }
      gemm<S, C>(Transpose::Yes, Transpose::No, F, Cin, (tr.end - tr.begin) * B, dy + tr.begin * B * F, F,
                 x + (tr.begin + tr.shift) * B * Cin, Cin, beta, dweight + k * Cin, KC);
    }
  }
  if (dbias != nullptr) {  // column sums of dY as [1, rows] ones . dY [rows, F] (ones exact in bf16)
    const int64_t rows = g.out_T() * B;
    const std::vector<S> ones(static_cast<std::size_t>(rows), from_double<S>(1.0));
    gemm<S, C>(Transpose::No, Transpose::No, 1, F, rows, ones.data(), rows, dy, F,
               param_mode == GradMode::Accumulate ? 1.0f : 0.0f, dbias, F);
  }
}

template <typename C>
void conv_gemm_bwd_args(const Conv1dBwdArgs& a) {
  conv_gemm_bwd<C, C>(a.g, static_cast<const C*>(a.x), static_cast<const C*>(a.weight), static_cast<const C*>(a.dy),
                      static_cast<C*>(a.dx), static_cast<C*>(a.dweight), static_cast<C*>(a.dbias), a.input_mode,
                      a.param_mode);
}

// ---- the fused text-CNN block ---------------------------------------------------------------------

// S: the storage type of x and the weights; C: the conv scratch's and pooled's type (S, or float
// for BF16, whose pooled then points at an F32 scratch the caller rounds once).
template <typename S, typename C>
void textcnn_forward(const TextCnnFwdArgs& a, const std::vector<int64_t>& len) {
  const int64_t B = a.B, SF = total_filters(a);
  const S* x = static_cast<const S*>(a.x);
  C* pooled = static_cast<C*>(a.pooled);
  // Every width's pre-ReLU conv first (BLAS-threaded), into one scratch: z_w [T'_w, B, F_w] at z_at[w].
  int64_t z_at[kMaxTextCnnWidths + 1] = {0};
  for (int w = 0; w < a.num_widths; ++w) z_at[w + 1] = z_at[w] + width_geometry(a, w).out_T() * B * a.widths[w].F;
  // Not zeroed: conv_gemm_fwd writes every element (the bias broadcast) before adding into it.
  const std::unique_ptr<C[]> z(new C[static_cast<std::size_t>(std::max<int64_t>(z_at[a.num_widths], 1))]);
  for (int w = 0; w < a.num_widths; ++w)
    conv_gemm_fwd<S, C>(width_geometry(a, w), x, static_cast<const S*>(a.widths[w].weight),
                        static_cast<const S*>(a.widths[w].bias), z.get() + z_at[w]);
  // Then row b's masked max over time for every width, rows split among the threads (each writes
  // only its own rows). With OpenBLAS it stays serial: as an OpenMP loop right after OpenBLAS's
  // GEMMs it was 5 ms slower with spinning OpenMP threads (opening comment).
#pragma omp parallel for num_threads(loom::num_threads()) if (loops_beside_gemm_parallel(z_at[a.num_widths]))
  for (int64_t b = 0; b < B; ++b) {
    int64_t off = 0;
    for (int w = 0; w < a.num_widths; ++w) {
      const Conv1dGeometry g = width_geometry(a, w);
      const int64_t F = g.F, out_len = conv1d_output_length(g, len[static_cast<std::size_t>(b)]);
      const C* zw = z.get() + z_at[w];
      C* best = pooled + b * SF + off;  // the running max lives in the output row itself
      std::int32_t* arg = a.argmax + b * SF + off;
      off += F;
      if (out_len == 0) {  // no complete window: defined as 0 with no winner
        std::fill_n(best, F, C(0));
        std::fill_n(arg, F, -1);
        continue;
      }
      std::copy_n(zw + b * F, F, best);
      std::fill_n(arg, F, 0);
      for (int64_t tp = 1; tp < out_len; ++tp) {
        const C* zr = zw + (tp * B + b) * F;
        const std::int32_t tp32 = static_cast<std::int32_t>(tp);
        // Written as selects, not a branch, so that the compiler vectorizes it (the same values).
        for (int64_t f = 0; f < F; ++f) {
          const bool take = beats(zr[f], best[f]);
          best[f] = take ? zr[f] : best[f];
          arg[f] = take ? tp32 : arg[f];
        }
      }
      for (int64_t f = 0; f < F; ++f) best[f] = best[f] < C(0) ? C(0) : best[f];  // ReLU; NaN passes
    }
  }
}

// What one row body of the sparse backward reads (the pointers are the float path's, C typed).
template <typename C>
struct TextCnnBwdView {
  const TextCnnFwdArgs* fa;
  const C* x;
  const C* pooled;
  const C* dpooled;
  const std::int32_t* argmax;
  int64_t SF;
  GradMode param_mode, input_mode;
  // The gradient reaching the winning pre-activation of column j of row b; 0 where ReLU was off
  // or the row had no window (pooled is then exactly 0).
  C grad_at(int64_t b, int64_t j) const { return pooled[b * SF + j] > C(0) ? dpooled[b * SF + j] : C(0); }
  bool active(int64_t b, int64_t j) const { return pooled[b * SF + j] > C(0) && argmax[b * SF + j] >= 0; }
};

// No fused multiply-add: a * b + c is two roundings, in this baseline build and in the AVX-512
// rows of textcnn_bwd_avx512.cc that must give its bits. GCC: fp-contract=off on the bodies.
// Clang has no optimize attribute: there each body opens with `#pragma clang fp contract(off)`.
#ifdef __clang__
#define LOOM_CONV_INLINE inline __attribute__((always_inline))
#else
#define LOOM_CONV_INLINE inline __attribute__((always_inline, optimize("fp-contract=off")))
#endif

// dweight row f of width w (columns off + f): the K taps' C values, summed over b in increasing
// order (each element's sum runs in that order whatever the vector width, so the bits do not
// depend on the build).
template <typename C>
LOOM_CONV_INLINE void dweight_row(const TextCnnBwdView<C>& v, const Conv1dGeometry& g, int64_t off, int64_t f,
                                  C* dweight) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const int64_t T = g.T, B = g.B, Cin = g.C, K = g.K, KC = K * Cin;
  C* row = dweight + f * KC;
  if (v.param_mode == GradMode::Overwrite) std::fill_n(row, KC, C(0));
  for (int64_t b = 0; b < B; ++b) {
    if (!v.active(b, off + f)) continue;
    const C gv = v.grad_at(b, off + f);
    const int64_t t_star = v.argmax[b * v.SF + off + f];
    for (int64_t k = 0; k < K; ++k) {
      const int64_t t = t_star + k * g.dilation - g.pad_left;
      if (t < 0 || t >= T) continue;
      const C* xr = v.x + (t * B + b) * Cin;
      C* dst = row + k * Cin;
      for (int64_t c = 0; c < Cin; ++c) dst[c] += gv * xr[c];
    }
  }
}

// dx row b: every winning window of row b adds g weight[f, k, :] into the K rows it read, in
// increasing column order.
template <typename C>
LOOM_CONV_INLINE void dx_row(const TextCnnBwdView<C>& v, const C* const* weights, int64_t b, C* dx) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const TextCnnFwdArgs& fa = *v.fa;
  const int64_t T = fa.T, B = fa.B, Cin = fa.C;
  if (v.input_mode == GradMode::Overwrite)
    for (int64_t t = 0; t < T; ++t) std::fill_n(dx + (t * B + b) * Cin, Cin, C(0));
  int64_t col = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(fa, w);
    for (int64_t f = 0; f < g.F; ++f, ++col) {
      if (!v.active(b, col)) continue;
      const C gv = v.grad_at(b, col);
      const int64_t t_star = v.argmax[b * v.SF + col];
      for (int64_t k = 0; k < g.K; ++k) {
        const int64_t t = t_star + k * g.dilation - g.pad_left;
        if (t < 0 || t >= T) continue;
        C* dxr = dx + (t * B + b) * Cin;
        const C* wr = weights[w] + (f * g.K + k) * Cin;
        for (int64_t c = 0; c < Cin; ++c) dxr[c] += gv * wr[c];
      }
    }
  }
}

// wide: whether F32 may take the AVX-512 rows of textcnn_bwd_avx512.cc (always, except in the
// test that holds them against these baseline rows). x_dx: the storage of x, the weights and dx,
// which the BF16 path hands over unwidened to those rows (the rest then arrives as F32).
template <typename C>
void textcnn_backward(const TextCnnBwdArgs& a, bool wide = true, DType x_dx = dtype_of<C>()) {
  const TextCnnFwdArgs& fa = a.fwd;
  const int64_t B = fa.B, Cin = fa.C, SF = total_filters(fa);
  const TextCnnBwdView<C> v{&fa,
                            static_cast<const C*>(fa.x),
                            static_cast<const C*>(fa.pooled),
                            static_cast<const C*>(a.dpooled),
                            fa.argmax,
                            SF,
                            a.param_mode,
                            a.input_mode};
  const bool rows512 = std::is_same_v<C, float> && wide && textcnn_rows_avx512_available();
  LOOM_CHECK(rows512 || x_dx == dtype_of<C>(), "textcnn_backward: unwidened x and dx need the AVX-512 rows");

  int64_t off = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(fa, w);
    const TextCnnWidth& wd = fa.widths[w];
    const int64_t F = g.F, KC = g.K * Cin;
    if (wd.dbias != nullptr) {
      C* dbias = static_cast<C*>(wd.dbias);
      for (int64_t f = 0; f < F; ++f) {
        C acc = 0;
        for (int64_t b = 0; b < B; ++b) acc += v.grad_at(b, off + f);
        store(dbias[f], acc, a.param_mode);
      }
    }
    if (wd.dweight != nullptr && !rows512) {
      C* dweight = static_cast<C*>(wd.dweight);
#pragma omp parallel for num_threads(loom::num_threads()) if (parallel_worth(B * F * KC))
      for (int64_t f = 0; f < F; ++f) dweight_row<C>(v, g, off, f, dweight);
    }
    off += F;
  }
  if (rows512) return textcnn_bwd_rows_avx512(a, x_dx);  // dweight and dx

  if (a.dx == nullptr) return;
  C* dx = static_cast<C*>(a.dx);
  const C* weights[kMaxTextCnnWidths];
  for (int w = 0; w < fa.num_widths; ++w) weights[w] = static_cast<const C*>(fa.widths[w].weight);
#pragma omp parallel for num_threads(loom::num_threads()) if (parallel_worth(B * SF * Cin))
  for (int64_t b = 0; b < B; ++b) dx_row<C>(v, weights, b, dx);
}

// ---- BF16: bf16 GEMM operands, F32 accumulators, one rounding per output ------------------------

// weight [F, K, C] as K dense [F, C] matrices, [K, F, C]. With row stride C instead of K*C, oneDNN
// picks brg:avx512_core_bf16 for the forward GEMMs instead of gemm:jit: 290 vs 390 us per tap at
// [3072, 128] x [128, 100] (2 threads, this machine); the copy is F K C values, small next to that.
std::vector<BFloat16> tap_major(const Conv1dGeometry& g, const BFloat16* weight) {
  std::vector<BFloat16> out(static_cast<std::size_t>(g.K * g.F * g.C));
  for (int64_t k = 0; k < g.K; ++k)
    for (int64_t f = 0; f < g.F; ++f)
      std::copy_n(weight + (f * g.K + k) * g.C, g.C, out.data() + (k * g.F + f) * g.C);
  return out;
}

void conv_fwd_bf16(const Conv1dFwdArgs& a) {
  const Conv1dGeometry& g = a.g;
  cpu::Wide y = cpu::output(a.y, DType::BF16, g.out_T() * g.B * g.F, GradMode::Overwrite);
  const BFloat16* weight = static_cast<const BFloat16*>(a.weight);
  const std::vector<BFloat16> taps = tap_major(g, weight);
  conv_gemm_fwd<BFloat16, float>(g, static_cast<const BFloat16*>(a.x), weight, static_cast<const BFloat16*>(a.bias),
                                 y.ptr(), taps.data());
  cpu::round_into(y, a.y, DType::BF16);
}

void conv_bwd_bf16(const Conv1dBwdArgs& a) {
  const Conv1dGeometry& g = a.g;
  const int64_t nx = g.T * g.B * g.C, nw = g.F * g.K * g.C;
  // F32 accumulators; an Accumulate gradient starts from its widened old value.
  cpu::Wide dx = cpu::output(a.dx, DType::BF16, nx, a.input_mode);
  cpu::Wide dw = cpu::output(a.dweight, DType::BF16, nw, a.param_mode);
  cpu::Wide db = cpu::output(a.dbias, DType::BF16, g.F, a.param_mode);
  conv_gemm_bwd<BFloat16, float>(g, static_cast<const BFloat16*>(a.x), static_cast<const BFloat16*>(a.weight),
                                 static_cast<const BFloat16*>(a.dy), dx.ptr(), dw.ptr(), db.ptr(), a.input_mode,
                                 a.param_mode);
  cpu::round_into(dx, a.dx, DType::BF16), cpu::round_into(dw, a.dweight, DType::BF16);
  cpu::round_into(db, a.dbias, DType::BF16);
}

void textcnn_fwd_bf16(const TextCnnFwdArgs& a, const std::vector<int64_t>& len) {
  cpu::Wide pooled = cpu::output(a.pooled, DType::BF16, a.B * total_filters(a), GradMode::Overwrite);
  TextCnnFwdArgs f = a;
  f.pooled = pooled.ptr();
  textcnn_forward<BFloat16, float>(f, len);
  cpu::round_into(pooled, a.pooled, DType::BF16);
}

}  // namespace

// ---- entry points --------------------------------------------------------------------------------

void conv1d_fwd_cpu(const Conv1dFwdArgs& a) {
  check_geometry(a.g, a.dtype, "conv1d_fwd_cpu");
  if (a.dtype == DType::BF16) return conv_fwd_bf16(a);
  run_conv_fwd(a, [](const Conv1dFwdArgs& f, auto tag) {
    using C = decltype(tag);
    conv_gemm_fwd<C, C>(f.g, static_cast<const C*>(f.x), static_cast<const C*>(f.weight),
                        static_cast<const C*>(f.bias), static_cast<C*>(f.y));
  });
}

void conv1d_bwd_cpu(const Conv1dBwdArgs& a) {
  check_geometry(a.g, a.dtype, "conv1d_bwd_cpu");
  if (a.dtype == DType::BF16) return conv_bwd_bf16(a);
  run_conv_bwd(a, [](const Conv1dBwdArgs& f, auto tag) { conv_gemm_bwd_args<decltype(tag)>(f); });
}

void textcnn_fwd_cpu(const TextCnnFwdArgs& a) {
  check_textcnn(a, "textcnn_fwd_cpu");
  const std::vector<int64_t> len = row_lengths(a, "textcnn_fwd_cpu");
  if (a.dtype == DType::BF16) return textcnn_fwd_bf16(a, len);
  run_textcnn_fwd(a, [&](const TextCnnFwdArgs& f, auto tag) {
    using C = decltype(tag);
    textcnn_forward<C, C>(f, len);
  });
}

// The backward of the fused block has no GEMM (it is sparse: K rows per winning window). BF16
// runs it on its bf16 x and dx where the AVX-512 rows exist, else through the widen-once path of
// conv1d_cpu_common.h.
void textcnn_bwd_cpu(const TextCnnBwdArgs& a) {
  check_textcnn(a.fwd, "textcnn_bwd_cpu");
  if (a.fwd.dtype == DType::BF16 && textcnn_rows_avx512_available()) {
    return run_textcnn_bwd(
        a, [](const TextCnnBwdArgs& f, auto) { textcnn_backward<float>(f, true, DType::BF16); }, true);
  }
  run_textcnn_bwd(a, [](const TextCnnBwdArgs& f, auto tag) { textcnn_backward<decltype(tag)>(f); });
}

void conv1d_cpu::textcnn_bwd_cpu_baseline(const TextCnnBwdArgs& a) {
  check_textcnn(a.fwd, "textcnn_bwd_cpu");
  run_textcnn_bwd(a, [](const TextCnnBwdArgs& f, auto tag) { textcnn_backward<decltype(tag)>(f, false); });
}

const char* conv1d_cpu::textcnn_bwd_isa() {
  return textcnn_rows_avx512_available() ? "avx512bw" : "baseline";
}

// ---- cost: the formulas of the opening comment -----------------------------------------------------

Cost conv1d_fwd_cost(const Conv1dFwdArgs& a) {
  const Conv1dGeometry& g = a.g;
  const double T = static_cast<double>(g.T), Tp = static_cast<double>(g.out_T()), B = static_cast<double>(g.B);
  const double C = static_cast<double>(g.C), F = static_cast<double>(g.F), K = static_cast<double>(g.K);
  const double s = static_cast<double>(dtype_size(a.dtype));
  Cost cost;
  cost.flops = 2 * Tp * B * F * K * C;
  cost.bytes = s * (T * B * C + F * K * C + (a.bias != nullptr ? F : 0) + Tp * B * F);
  return cost;
}

Cost conv1d_bwd_cost(const Conv1dBwdArgs& a) {
  const Conv1dGeometry& g = a.g;
  const double T = static_cast<double>(g.T), Tp = static_cast<double>(g.out_T()), B = static_cast<double>(g.B);
  const double C = static_cast<double>(g.C), F = static_cast<double>(g.F), K = static_cast<double>(g.K);
  const double s = static_cast<double>(dtype_size(a.dtype));
  const double in_rw = a.input_mode == GradMode::Accumulate ? 2 : 1;
  const double param_rw = a.param_mode == GradMode::Accumulate ? 2 : 1;
  const bool dx = a.dx != nullptr, dw = a.dweight != nullptr, db = a.dbias != nullptr;
  Cost cost;
  cost.flops = (dx ? 2 * Tp * B * F * K * C : 0) + (dw ? 2 * Tp * B * F * K * C : 0) + (db ? Tp * B * F : 0);
  cost.bytes = s * (Tp * B * F + (dw ? T * B * C : 0) + (dx ? F * K * C : 0));
  cost.bytes += s * ((dx ? in_rw * T * B * C : 0) + (dw ? param_rw * F * K * C : 0) + (db ? param_rw * F : 0));
  return cost;
}

Cost textcnn_fwd_cost(const TextCnnFwdArgs& a) {
  const double T = static_cast<double>(a.T), B = static_cast<double>(a.B), C = static_cast<double>(a.C);
  const double s = static_cast<double>(dtype_size(a.dtype)), SF = static_cast<double>(total_filters(a));
  Cost cost;
  cost.bytes = s * (T * B * C + B * SF) + 4 * B * SF + (a.lengths != nullptr ? 4 * B : 0);
  for (int w = 0; w < a.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(a, w);
    const double Tp = static_cast<double>(g.out_T()), F = static_cast<double>(g.F), K = static_cast<double>(g.K);
    cost.flops += 2 * Tp * B * F * (K * C + 1);
    cost.bytes += s * F * (K * C + (a.widths[w].bias != nullptr ? 1 : 0));
  }
  return cost;
}

Cost textcnn_bwd_cost(const TextCnnBwdArgs& a) {
  const TextCnnFwdArgs& fa = a.fwd;
  const double T = static_cast<double>(fa.T), B = static_cast<double>(fa.B), C = static_cast<double>(fa.C);
  const double s = static_cast<double>(dtype_size(fa.dtype)), SF = static_cast<double>(total_filters(fa));
  const double in_rw = a.input_mode == GradMode::Accumulate ? 2 : 1;
  const double param_rw = a.param_mode == GradMode::Accumulate ? 2 : 1;
  const bool dx = a.dx != nullptr;
  bool any_dweight = false;
  Cost cost;
  cost.bytes = s * 2 * B * SF + 4 * B * SF + (dx ? s * in_rw * T * B * C : 0);
  for (int w = 0; w < fa.num_widths; ++w) {
    const TextCnnWidth& wd = fa.widths[w];
    const double F = static_cast<double>(wd.F), K = static_cast<double>(wd.K);
    const bool dw = wd.dweight != nullptr, db = wd.dbias != nullptr;
    any_dweight = any_dweight || dw;
    cost.flops += (dx ? 2 * B * F * K * C : 0) + (dw ? 2 * B * F * K * C : 0) + (db ? B * F : 0);
    cost.bytes += s * ((dx ? F * K * C : 0) + (dw ? param_rw * F * K * C : 0) + (db ? param_rw * F : 0));
  }
  if (any_dweight) cost.bytes += s * T * B * C;
  return cost;
}

}  // namespace loom::kernels
