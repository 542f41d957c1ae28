// kernels/lstm/lstm_cpu.cc: the LSTM over a whole sequence on the CPU, forward and backward, one or
// two directions, per-row lengths: the engine's CPU training path (row "cpu" of the variant table,
// lstm_variants.h). Same math as the plain-loop reference lstm_reference.cc, which the tests
// compare it with; this one is arranged to run on BLAS and OpenMP threads.
//
// Math (lstm.h fixes the conventions: gate order i, f, g, o; G = 4H; time-major; folded bias b).
// Forward, row b at its processing step s (time t = s, or t = len_b - 1 - s for Reverse):
//   z = x_t W_ih^T + h_prev W_hh^T + b                 [G] = (zi, zf, zg, zo)
//   i = sig(zi)   f = sig(zf)   g = tanh(zg)   o = sig(zo)
//   c = f c_prev + i g          h = o tanh(c)          y[t, b, dH : dH + H] = h
// where (h_prev, c_prev) is the row's state after its previous processed step, (h0, c0) at s = 0.
//
// Backward. Let dh, dc be everything the loss sends to h and c of step s: through y, and through
// the recurrence from step s + 1 (from h_n, c_n instead at the row's last step, s = len_b - 1):
//   dh = dy_t + dh_carry
//   dc = dc_carry + dh o (1 - tanh(c)^2)            (c reaches the loss directly and through h)
// One product rule per use:   h = o tanh(c)        ->  do = dh tanh(c)
//                             c = f c_prev + i g   ->  di = dc g,  df = dc c_prev,  dg = dc i
// and the activations, differentiated from their saved outputs (sig' = s(1-s), tanh' = 1 - t^2):
//   dzi = di i (1 - i)    dzf = df f (1 - f)    dzg = dg (1 - g^2)    dzo = do o (1 - o)
// The step before receives what flows into its state:
//   dc_prev = dc f               (c_prev is used once, in c = f c_prev + i g)
//   dh_prev = dz W_hh            (h_prev is used once, in z)
// and the weights collect every valid (t, b):
//   dW_ih = sum dz^T x_t    dW_hh = sum dz^T h_prev    db = sum dz    dx_t = dz W_ih
// dh0, dc0 are the carries left after the row's step 0 (dh_n, dc_n for a row of length 0).
//
// How it runs, per direction (the same plan as the fused CUDA variant: the input projection as one
// GEMM before the loop, per step one recurrent GEMM and one pointwise pass, the weight and input
// gradients as one GEMM each after it):
//   forward:  Zx = x W_ih^T for all T*B rows in ONE GEMM into a [T*B, G] buffer; then per step one
//             recurrent GEMM Zh = h_state W_hh^T into a [B, G] scratch and ONE pointwise pass that
//             finishes z, writes y, the saved c and gates, and the row's state. The state buffers
//             are indexed by row, not by time, so a reverse row with its own length needs neither a
//             gather nor a reversed copy: each row just reads its own Zx row at its own t.
//   backward: per step, from s = T - 1 down to 0, one pointwise pass writes dz into dZ [T*B, G]
//             (indexed by time, zero at padding) and one GEMM carries dh_prev = dz W_hh to the step
//             before. The GEMM reads the step's rows straight out of dZ when they share one t (the
//             forward direction, or equal lengths); only reverse rows with mixed lengths are also
//             copied into a [B, G] scratch. After the loop, one GEMM each over all T*B rows:
//             dW_ih (+)= dZ^T x, dW_hh (+)= dZ^T Hprev, dx (+)= dZ W_ih; db is a column sum of dZ.
//   Hprev [T*B, H] is not read back from y: the pass recomputes h = o tanh(c) from the saved gates
//   and cell (F32 or F64), the exact value the forward fed to the next step; y in F16/BF16 is not.
//   The per-step GEMMs cover a thread's rows up to its last one still running, so they shrink as
//   rows finish (to the running rows exactly when lengths are sorted longest first).
//   The F32 pointwise passes (one per row and step, forward and backward) are vectorized loops with
//   a polynomial exp (lstm_pointwise_cpu.h: max relative error 2.3e-7 against exp in double, a
//   baseline and an AVX-512 build that give the same bits); F64 keeps std::exp and std::tanh.
//   perf at B 64, T 50, C 128, H 256 (F32, 2 threads, fwd+bwd) before: GEMMs 48% of the samples,
//   libm's expf/tanhf 28%, the pointwise loops and copies 14%, page faults on fresh scratch 6%;
//   after: GEMMs 70%, the pointwise passes 8%, page faults 13% (the same count, a shorter run). The
//   fwd+bwd time fell by 40-55% (bench/results/2026-12-06-lstm-cpu-pointwise-bf16.md).
//
// Parallel map. Rows of the batch never interact: row b's recurrence reads only row b's state.
// So one OpenMP region per direction and pass gives thread k a contiguous block of rows (about
// 1/nt of all steps, so mixed lengths balance) for the WHOLE time loop: its own per-step GEMM on
// its rows, then its own pointwise pass, with no barrier between steps. The T*B-row GEMMs are
// split by rows (Zx, dx) or by gate rows of the weight gradient (dW_ih, dW_hh, and db's columns),
// with one barrier before them (backward) or after them (forward). Two directions on two threads
// go by direction instead (by_direction): thread d runs direction d whole, with all B rows in each
// per-step GEMM, and the backward sums dx over both directions once both are done. Measured with
// `loom trace --kernels --arch bilstm --seq-len 30` (B 64, H 128, 3 interleaved rounds, one run):
// bf16 step 8.0-8.3 ms against 9.0-9.1 by rows, fp32 10.9-11.5 against 11.3-11.6 (the smaller
// per-step GEMMs cost bf16 most). A GEMM's bits may depend on its row count M, so results depend
// on the thread count within rounding, not to the bit (they did before too: 1 thread has M = B,
// 2 threads M = B / 2). Inside the regions every GEMM
// runs single-threaded BLAS on its calling thread (gemm_openblas checks omp_in_parallel). This is
// the thread rule (one pool; BLAS single-threaded inside parallel regions or BLAS-threaded outside
// them, never both) made structural: an OpenMP pointwise region per step followed by a
// BLAS-threaded GEMM made libgomp's spinning threads fight OpenBLAS's for the 2 cores, and
// measured 5x slower (500 ms against 96 ms fwd+bwd at T 50, B 64, C 128, H 256) unless
// OMP_WAIT_POLICY=passive was set. Problems below loom::kParallelGrain of work run on one thread.
// Each thread writes only its rows of y, h_n, c_n, the saved buffers, dZ, Hprev, dh0, dc0 and its
// share of the gradients, so nothing needs atomics, and every sum runs in a fixed order.
//
// FLOPs per direction (lstm_seq_fwd_cost / lstm_seq_bwd_cost compute exactly these), N = T*B rows:
//   forward  2 N G (C + H)   GEMMs (input projection + recurrent)
//            + 23 N H        pointwise: 8 adds forming z, 3 sigmoids at 3 (exp, add, divide),
//                            tanh(zg), c (3), tanh(c), h (1)
//   backward 2 N G H         GEMM dh_prev = dz W_hh, and for each gradient wanted
//            2 N G H (dW_hh), 2 N G C (dW_ih), 2 N G C (dx)   (2 N G (2C + 2H) with all of them)
//            + 25 N H        pointwise: tanh(c) 1, dh 1, dc 5, do di dg df 4, the four dz 12,
//                            dc_prev 1, h for Hprev 1
//            + N G           the db column sum, when db is wanted
// Bytes per direction (the minimum that must move; s = storage size, a = 4, or 8 for F64, is the
// saved size; the [T*B, G] Zx and dZ buffers are this implementation's extra traffic, not counted):
//   forward  s (N C + G (C + H + 1) + N H + 2 B H [h_n, c_n] + B H per given h0, c0)
//            + a (N H + N G) when training (saved c, gates)
//   backward s (N C + G (C + H) + N H if dy is given + B H per given h0, c0, dh_n, dc_n)
//            + a (N H + N G) for the saved c and gates, plus every wanted gradient written once
//            and read once more when it accumulates (dx also in the second direction, which adds
//            onto the first's).
// The GEMMs dominate (H = 256, C = 128: 2 G (C + H) = 786 k flops per row against 23 H = 5.9 k),
// so the CPU path runs at whatever the BLAS reaches on [B, H] x [H, G] recurrent products.
//
// Precision: F32 and F64 storage run in their own type. F16 is widened to F32 once at entry, runs
// the float path, and every output is rounded once at the end; gradients that accumulate are
// widened first, so the sum happens in F32 and rounds once (lstm_widen_cpu.h). BF16 runs natively
// (template arguments C = float, S = BFloat16): what feeds a GEMM is bf16 and every GEMM
// accumulates in F32 (GemmOut::F32); what the recurrence carries or sums is F32 (architecture
// section 7: the cell state stays F32). Per step, forward:
//   Zx = x W_ih^T (bf16 x bf16 -> F32, all T*B rows once)   Zh = h W_hh^T (bf16 h, kept only in bf16)
//   the pointwise pass reads F32 Zx, Zh, bias, c; writes F32 c, saved c and gates, and h, y in bf16
// and backward:
//   the pass writes dz in F32 (summed into db) and a bf16 copy that feeds dh_prev = dz W_hh (F32
//   out), and after the loop dW_ih, dW_hh (with Hprev in bf16: it is the forward's bf16 h) and dx.
// The F32 extras are the inputs that are no GEMM operand (bias, c0; dy, dh_n, dc_n: widened once)
// and every output but y and h_n (c_n and all gradients: produced in F32, Accumulate adding onto
// the widened old value, rounded once). Versus the widened path this rounds h and dz to bf16 before
// each GEMM, which is the error tests/kernels/test_lstm_cpu_bf16.cc bounds; memory: Hprev and the
// GEMM copy of dZ are bf16, h needs no F32 copy.
//
// Twins (the same names for the same things: time_of, Z / dZ, i f g o, c, h, c_prev, tanh_c):
// lstm_reference.cc (plain loops), lstm_cuda_time_loop.cu (the GPU time loop and fused pointwise
// kernels), lstm_cudnn.cc. Tests: tests/kernels/test_lstm_cpu.cc (this path against the reference,
// thread counts, F16/BF16, cost, bad lengths). Bench: bench/engine/lstm.cc (`loom bench lstm`). Tutorial:
// kernels/lstm/README.md.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_pointwise_cpu.h"
#include "kernels/lstm/lstm_scratch_cpu.h"
#include "kernels/lstm/lstm_widen_cpu.h"

namespace loom::kernels {

namespace {

using std::int64_t;

// Below this much work (GEMM flops plus ~32 per pointwise unit: five exp/tanh calls of tens of
// cycles each) a call runs on one thread, because a fork/join and a split GEMM cost microseconds.
constexpr int64_t kUnitWork = 32;

// Columns of dZ summed together for the bias gradient: 64 floats is four cache lines per row, so a
// thread streams whole lines and keeps its partial sums in registers.
constexpr int64_t kBiasColumns = 64;
static_assert(kBiasColumns == 64, "lstm_cpu::column_sums keeps a 64-column block in registers");

// Scratch comes from the calling thread's grow-only arena (lstm_scratch_cpu.h), so a call reuses
// the pages the previous call faulted in: at H 512 the [T*B, G] buffers are 26 MB each, and fresh
// ones cost a page fault per 4 KiB (bench/results/2026-12-07-lstm-cpu-h512.md). Every buffer is
// fully written before it is read: value-initializing dZ would cost as much as a step, so only the
// positions that must be zero are zeroed. Slots: the forward and the backward never overlap on a
// thread, so they share them (0: Zx / dZ, both [T*B, G] of C).
enum Slot : int { kBig = 0, kBigS, kRowsH, kStepG, kStateH, kStateC, kZeros, kZerosS };
static_assert(kZerosS < lstm_cpu::ScratchArena::kSlots, "one arena slot per scratch buffer");

template <typename T>
T* scratch(Slot slot, int64_t n) {
  return lstm_cpu::thread_scratch().get<T>(slot, n);
}

template <typename C>
inline C sigmoid(C z) {
  return C(1) / (C(1) + std::exp(-z));  // exp(-z) -> inf gives 0, never NaN
}

// Row b's time index at processing step s (s < len); reverse starts from the row's own last token.
inline int64_t time_of(bool reverse, int64_t len, int64_t s) { return reverse ? len - 1 - s : s; }

// The one place a gradient is written: Accumulate adds the old value in the compute type.
template <typename C>
inline void store(C& dst, C value, GradMode mode) {
  dst = mode == GradMode::Accumulate ? dst + value : value;
}

// S is the type GEMM operands are stored in, C the compute type: (double, double), (float, float),
// or (float, BFloat16) for the native BF16 path, where only what feeds a GEMM (x, the weights, h0,
// h, dz) and y, h_n are bf16, and everything else (cell state, gates, carries, sums) is F32.
template <typename S>
constexpr bool kBf16 = std::is_same_v<S, BFloat16>;

template <typename S, typename C>
inline S put(C v) {
  if constexpr (kBf16<S>) return BFloat16{float_to_bf16_bits(v)};
  else return v;
}

// Inside the parallel regions below, gemm_cpu runs single-threaded BLAS on the calling thread.
// BF16 operands give an F32 C (GemmOut::F32): the accumulator is never rounded.
template <typename S, typename C>
void gemm(Transpose ta, Transpose tb, int64_t M, int64_t N, int64_t K, const S* A, int64_t lda, const S* B,
          int64_t ldb, float beta, C* Cout, int64_t ldc) {
  GemmArgs g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.M = M, g.N = N, g.K = K;
  g.beta = beta;
  g.dtype = std::is_same_v<S, double> ? DType::F64 : kBf16<S> ? DType::BF16 : DType::F32;
  g.out = kBf16<S> ? GemmOut::F32 : GemmOut::Storage;
  g.A = A, g.lda = lda, g.B = B, g.ldb = ldb, g.C = Cout, g.ldc = ldc;
  gemm_cpu(g);
}

struct Range {
  int64_t begin, end;
};

// Thread k's share of n independent rows (GEMM rows, weight-gradient rows, columns).
Range even_split(int64_t n, int k, int nt) { return {n * k / nt, n * (k + 1) / nt}; }

// What both passes need to know about the lengths, worked out (and checked) once per call.
struct Plan {
  std::vector<int64_t> len;   // [B] valid steps of each row
  std::vector<int64_t> work;  // [B + 1] prefix sums of len_b + 1 (a row of length 0 still copies its state)
  bool uniform = true;        // every row has the same length: a step's rows share one t
  int threads = 1;
};

// Thread k's batch rows for the whole recurrence: a contiguous block holding about 1/nt of the
// steps, so mixed lengths still load every thread equally.
Range row_split(const Plan& p, int k, int nt) {
  auto boundary = [&](int part) {
    std::size_t b = 0;
    while (b + 1 < p.work.size() && p.work[b] * nt < p.work.back() * part) ++b;
    return static_cast<int64_t>(b);
  };
  return {boundary(k), boundary(k + 1)};
}

// End of the rows of `r` still running at step s: rows only finish, so trimming the tail keeps
// the per-step GEMM to rows that matter (all of them when lengths are sorted longest first).
int64_t running_end(const Plan& p, Range r, int64_t s) {
  int64_t e = r.end;
  while (e > r.begin && p.len[static_cast<std::size_t>(e - 1)] <= s) --e;
  return e;
}

void check_args(const LstmSeqFwdArgs& a, const char* op) {
  LOOM_CHECK_SHAPE(a.D == 1 || a.D == 2, op, ": D must be 1 or 2 directions (got D = ", a.D, ")");
  LOOM_CHECK_SHAPE(a.T >= 0 && a.B >= 0 && a.C >= 0 && a.H >= 0, op, ": negative size (T = ", a.T, ", B = ", a.B,
                   ", C = ", a.C, ", H = ", a.H, ")");
  LOOM_CHECK_SHAPE(a.dtype != DType::I32, op, ": expected a float dtype (f32, f64, f16, bf16), got i32");
}

Plan make_plan(const LstmSeqFwdArgs& a, const char* op) {
  check_args(a, op);
  Plan p;
  p.len.assign(static_cast<std::size_t>(a.B), a.T);
  for (int64_t b = 0; a.lengths != nullptr && b < a.B; ++b) {
    const int64_t L = a.lengths[b];
    LOOM_CHECK_SHAPE(L >= 0 && L <= a.T, op, ": lengths[", b, "] = ", L, " is outside [0, T] with T = ", a.T);
    p.len[static_cast<std::size_t>(b)] = L;
    p.uniform = p.uniform && L == p.len[0];
  }
  p.work.assign(1, 0);
  for (int64_t L : p.len) p.work.push_back(p.work.back() + L + 1);
  const int64_t N = a.T * a.B, G = 4 * a.H;
  p.threads = 2 * N * G * (a.C + a.H) + N * a.H * kUnitWork > loom::kParallelGrain ? loom::num_threads() : 1;
  return p;
}

// ---- forward -------------------------------------------------------------------------------------

template <typename C, typename S>
struct FwdScratch {
  C *Zx, *Zh;  // [T*B, G], [B, G]
  S* h;        // [B, H]: h feeds only the recurrent GEMM, so it is stored like x
  C* c;        // [B, H]
};

// Direction d's forward as thread k of nt sees it, inside a parallel region: nt = 1 runs the
// whole direction on the calling thread (one direction per thread, by_direction below).
// S = BFloat16: x, w_ih, w_hh, h0, y, h_n are bf16; bias, c0, c_n arrive as F32 (forward_bf16).
template <typename C, typename S>
void forward_direction_part(const LstmSeqFwdArgs& a, int d, const Plan& p, FwdScratch<C, S>& w, int k, int nt) {
  const LstmDirection& dir = a.dirs[d];
  const int64_t T = a.T, B = a.B, H = a.H, G = 4 * H, DH = a.D * H;
  const S* x = static_cast<const S*>(a.x);
  const S* w_ih = static_cast<const S*>(dir.w_ih);
  const S* w_hh = static_cast<const S*>(dir.w_hh);
  const C* bias = static_cast<const C*>(dir.bias);
  const S* h0 = static_cast<const S*>(dir.h0);
  const C* c0 = static_cast<const C*>(dir.c0);
  S* y = static_cast<S*>(a.y) + d * H;  // this direction's columns; rows are DH apart
  C* c_saved = static_cast<C*>(dir.c_saved);
  C* gates_saved = static_cast<C*>(dir.gates_saved);
  const bool training = c_saved != nullptr && gates_saved != nullptr;
  C* Zx = w.Zx;
  C* Zh = w.Zh;
  S* h_state = w.h;  // the running state of each row, as in the CUDA twin
  C* c_state = w.c;

  {
    // The input half of z does not depend on the recurrence: all T*B rows at once.
    const Range r = even_split(T * B, k, nt);
    gemm(Transpose::No, Transpose::Yes, r.end - r.begin, G, a.C, x + r.begin * a.C, a.C, w_ih, a.C, 0.0f,
         Zx + r.begin * G, G);
    if (nt > 1) {  // the same for every thread of the team, as a barrier must be
#pragma omp barrier
    }
    // From here on this thread owns its rows: their state, Zh rows, y, saved c and gates.
    const Range rows = row_split(p, k, nt);
    for (int64_t bj = rows.begin * H; bj < rows.end * H; ++bj) {
      h_state[bj] = h0 != nullptr ? h0[bj] : put<S>(C(0));
      c_state[bj] = c0 != nullptr ? c0[bj] : C(0);
    }
    for (int64_t s = 0; s < T; ++s) {
      const int64_t end = running_end(p, rows, s);
      if (end == rows.begin) break;  // rows only finish: nothing runs from here on
      gemm(Transpose::No, Transpose::Yes, end - rows.begin, G, H, h_state + rows.begin * H, H, w_hh, H, 0.0f,
           Zh + rows.begin * G, G);
      for (int64_t b = rows.begin; b < end; ++b) {
        const int64_t len = p.len[static_cast<std::size_t>(b)];
        if (s >= len) continue;  // a finished row keeps its state: it is the row's final state
        const int64_t tb = time_of(dir.reverse, len, s) * B + b;
        const C* zx = Zx + tb * G;
        const C* zh = Zh + b * G;
        if constexpr (kBf16<S>) {  // h and y rounded to bf16 in the pass
          lstm_cpu::PointwiseFwd pw{zx, zh, bias, c_state + b * H, nullptr, nullptr,
                                    training ? c_saved + tb * H : nullptr, training ? gates_saved + tb * G : nullptr};
          pw.h_bf16 = &h_state[b * H].bits, pw.y_bf16 = &y[tb * DH].bits;
          lstm_cpu::pointwise_fwd(pw, H);
        } else if constexpr (std::is_same_v<C, float>) {  // vectorized, polynomial exp: lstm_pointwise_cpu.h
          lstm_cpu::pointwise_fwd({zx, zh, bias, c_state + b * H, h_state + b * H, y + tb * DH,
                                   training ? c_saved + tb * H : nullptr, training ? gates_saved + tb * G : nullptr},
                                  H);
        } else {  // F64: the equations as written, with std::exp and std::tanh
          for (int64_t j = 0; j < H; ++j) {
            const C i = sigmoid(zx[j] + zh[j] + bias[j]);
            const C f = sigmoid(zx[H + j] + zh[H + j] + bias[H + j]);
            const C g = std::tanh(zx[2 * H + j] + zh[2 * H + j] + bias[2 * H + j]);
            const C o = sigmoid(zx[3 * H + j] + zh[3 * H + j] + bias[3 * H + j]);
            const C c = f * c_state[b * H + j] + i * g;
            const C h = o * std::tanh(c);
            c_state[b * H + j] = c;
            h_state[b * H + j] = h;
            y[tb * DH + j] = h;
            if (training) {
              c_saved[tb * H + j] = c;
              C* gate = gates_saved + tb * G;
              gate[j] = i, gate[H + j] = f, gate[2 * H + j] = g, gate[3 * H + j] = o;
            }
          }
        }
      }
    }
    for (int64_t b = rows.begin; b < rows.end; ++b)  // padding of y is defined as zero (lstm.h)
      for (int64_t t = p.len[static_cast<std::size_t>(b)]; t < T; ++t) std::fill_n(y + (t * B + b) * DH, H, put<S>(C(0)));
    if (dir.h_n != nullptr)
      std::copy(h_state + rows.begin * H, h_state + rows.end * H, static_cast<S*>(dir.h_n) + rows.begin * H);
    if (dir.c_n != nullptr)
      std::copy(c_state + rows.begin * H, c_state + rows.end * H, static_cast<C*>(dir.c_n) + rows.begin * H);
  }
}

// Two directions on two threads: each thread runs one whole direction (its own scratch, from its
// own arena), instead of both threads splitting the rows of one direction and then of the other.
// Each per-step GEMM then has all B rows (B = 64: one [64, H] x [H, G] call instead of two of 32
// rows, whose fixed cost weighs most in bf16), and nothing waits at a barrier. Nothing the two
// directions write overlaps except dx, which the backward sums after both are done.
bool by_direction(int D, const Plan& p) { return D == 2 && p.threads == 2; }

template <typename C, typename S>
FwdScratch<C, S> fwd_scratch(const LstmSeqFwdArgs& a) {
  const int64_t G = 4 * a.H;
  return {scratch<C>(kBig, a.T * a.B * G), scratch<C>(kStepG, a.B * G), scratch<S>(kStateH, a.B * a.H),
          scratch<C>(kStateC, a.B * a.H)};
}

template <typename C, typename S = C>
void forward(const LstmSeqFwdArgs& a, const Plan& p) {
  if (by_direction(a.D, p)) {
#pragma omp parallel num_threads(2)
    {
      const int k = omp_get_thread_num(), nt = omp_get_num_threads();
      FwdScratch<C, S> w = fwd_scratch<C, S>(a);  // the calling thread's arena
      for (int d = k; d < a.D; d += nt) forward_direction_part<C, S>(a, d, p, w, 0, 1);
    }
    return;
  }
  FwdScratch<C, S> w = fwd_scratch<C, S>(a);
  for (int d = 0; d < a.D; ++d) {
#pragma omp parallel num_threads(p.threads)
    forward_direction_part<C, S>(a, d, p, w, omp_get_thread_num(), omp_get_num_threads());
  }
}

// ---- backward ------------------------------------------------------------------------------------

template <typename C, typename S>
struct BwdScratch {
  C* dZ;                    // [T*B, G]
  S *dZs, *Hprev, *dz_step;  // [T*B, G] (BF16 only: dZ rounded, for the GEMMs), [T*B, H], [B, G]
  C *dh, *dc, *zeros;       // [B, H] x 3
  S* zeros_s;               // [B, H]
};

// dx rows [r.begin, r.end) (+)= those rows of direction d's dZ (dzs: what the GEMMs read) times
// its W_ih. x feeds both directions: the second adds onto the first's dx whatever input_mode says.
template <typename C, typename S>
void dx_rows_gemm(const LstmSeqBwdArgs& a, int d, const S* dzs, Range r) {
  const LstmSeqFwdArgs& fa = a.fwd;
  const int64_t G = 4 * fa.H, Cin = fa.C;
  const float beta = d > 0 || a.input_mode == GradMode::Accumulate ? 1.0f : 0.0f;
  gemm(Transpose::No, Transpose::No, r.end - r.begin, Cin, G, dzs + r.begin * G, G,
       static_cast<const S*>(fa.dirs[d].w_ih), Cin, beta, static_cast<C*>(a.dx) + r.begin * Cin, Cin);
}

// Direction d's backward as thread k of nt sees it, inside a parallel region (nt = 1: the whole
// direction on the calling thread). with_dx = false leaves dx to the caller (by_direction: both
// directions' dx after both are done, so their sums keep the order of the row split).
// S = BFloat16: x, w_ih, w_hh, h0 are bf16 and feed the GEMMs; everything else (c0, dy, dh_n, dc_n,
// every gradient) arrives as F32 (backward_bf16), so sums and accumulation happen in F32.
template <typename C, typename S>
void backward_direction_part(const LstmSeqBwdArgs& a, int d, const Plan& p, BwdScratch<C, S>& w, int k, int nt,
                             bool with_dx) {
  const LstmSeqFwdArgs& fa = a.fwd;
  const LstmDirection& dir = fa.dirs[d];
  const LstmDirectionGrad& gr = a.grads[d];
  const int64_t T = fa.T, B = fa.B, Cin = fa.C, H = fa.H, G = 4 * H, DH = fa.D * H, N = T * B;
  const C* zeros = w.zeros;  // stands in for every nullable input: nullptr means zeros
  const S* x = static_cast<const S*>(fa.x);
  const S* w_hh = static_cast<const S*>(dir.w_hh);
  const S* h0 = dir.h0 != nullptr ? static_cast<const S*>(dir.h0) : w.zeros_s;
  const C* c0 = dir.c0 != nullptr ? static_cast<const C*>(dir.c0) : zeros;
  const C* c_saved = static_cast<const C*>(dir.c_saved);
  const C* gates_saved = static_cast<const C*>(dir.gates_saved);
  const C* dy = a.dy != nullptr ? static_cast<const C*>(a.dy) + d * H : nullptr;
  const C* dh_n = gr.dh_n != nullptr ? static_cast<const C*>(gr.dh_n) : zeros;
  const C* dc_n = gr.dc_n != nullptr ? static_cast<const C*>(gr.dc_n) : zeros;
  C* dZ = w.dZ;
  S* dZs = nullptr;  // what the GEMMs read: dZ itself, or its bf16 copy
  if constexpr (kBf16<S>) dZs = w.dZs;
  else dZs = dZ;
  S* Hprev = w.Hprev;
  S* dz_step = w.dz_step;
  C* dh = w.dh;  // dh_carry: from step s + 1's dz W_hh, per row
  C* dc = w.dc;  // dc_carry: dc f of step s + 1, per row
  // A step's rows sit at one t of dZ unless reverse rows have different lengths; then they are
  // also copied into dz_step, whose not-yet-running rows stay zero for the GEMM.
  const bool gather = dir.reverse && !p.uniform;
  const float param_beta = a.param_mode == GradMode::Accumulate ? 1.0f : 0.0f;

  {
    const Range rows = row_split(p, k, nt);
    // Padding takes no part in the sums over T*B rows: zero there, never written by the loop.
    for (int64_t b = rows.begin; b < rows.end; ++b)
      for (int64_t t = p.len[static_cast<std::size_t>(b)]; t < T; ++t) {
        std::fill_n(dZ + (t * B + b) * G, G, C(0));
        if constexpr (kBf16<S>) std::fill_n(dZs + (t * B + b) * G, G, put<S>(C(0)));
        std::fill_n(Hprev + (t * B + b) * H, H, put<S>(C(0)));
      }
    if (gather) std::fill(dz_step + rows.begin * G, dz_step + rows.end * G, put<S>(C(0)));

    for (int64_t s = T - 1; s >= 0; --s) {
      const int64_t end = running_end(p, rows, s);
      if (end == rows.begin) continue;  // none of this thread's rows has started yet
      for (int64_t b = rows.begin; b < end; ++b) {
        const int64_t len = p.len[static_cast<std::size_t>(b)];
        if (s >= len) continue;
        const bool last = s == len - 1;  // gradient arrives from (h_n, c_n), not from a later step
        const int64_t t = time_of(dir.reverse, len, s), tb = t * B + b;
        const C* gate = gates_saved + tb * G;
        const C* c_t = c_saved + tb * H;
        const C* c_prev = s == 0 ? c0 + b * H : c_saved + (time_of(dir.reverse, len, s - 1) * B + b) * H;
        const C* dy_t = dy != nullptr ? dy + tb * DH : zeros;
        const C* dh_in = last ? dh_n + b * H : dh + b * H;
        const C* dc_in = last ? dc_n + b * H : dc + b * H;
        C* dz = dZ + tb * G;
        // This step's h is the h_prev of the row's next step; h0 is the h_prev of its first.
        S* h_next = last ? nullptr : Hprev + (time_of(dir.reverse, len, s + 1) * B + b) * H;
        if constexpr (kBf16<S>) {  // also dz and h rounded to bf16 for the GEMMs
          lstm_cpu::PointwiseBwd pw{gate, c_t, c_prev, dy_t, dh_in, dc_in, dz, dc + b * H, nullptr};
          pw.dz_bf16 = &dZs[tb * G].bits;
          pw.h_next_bf16 = h_next != nullptr ? &h_next->bits : nullptr;
          lstm_cpu::pointwise_bwd(pw, H);
        } else if constexpr (std::is_same_v<C, float>) {  // the same tanh as the forward: h_next is its h
          lstm_cpu::pointwise_bwd({gate, c_t, c_prev, dy_t, dh_in, dc_in, dz, dc + b * H, h_next}, H);
        } else {
        for (int64_t j = 0; j < H; ++j) {
          const C i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
          const C tanh_c = std::tanh(c_t[j]);
          const C dh_t = dy_t[j] + dh_in[j];
          const C dc_t = dc_in[j] + dh_t * o * (C(1) - tanh_c * tanh_c);
          const C d_o = dh_t * tanh_c, d_i = dc_t * g, d_g = dc_t * i, d_f = dc_t * c_prev[j];
          dz[j] = d_i * i * (C(1) - i);
          dz[H + j] = d_f * f * (C(1) - f);
          dz[2 * H + j] = d_g * (C(1) - g * g);
          dz[3 * H + j] = d_o * o * (C(1) - o);
          dc[b * H + j] = dc_t * f;
          if (h_next != nullptr) h_next[j] = o * tanh_c;
        }
        }
        if (s == 0) std::copy_n(h0 + b * H, H, Hprev + tb * H);
        if (gather) std::copy_n(dZs + tb * G, G, dz_step + b * G);
      }
      if (s == 0 && gr.dh0 == nullptr) break;  // step 0's dh_prev is dh0 and nothing else
      const S* dz_rows = gather ? dz_step : dZs + time_of(dir.reverse, p.len[0], s) * B * G;
      gemm(Transpose::No, Transpose::No, end - rows.begin, H, G, dz_rows + rows.begin * G, G, w_hh, H, 0.0f,
           dh + rows.begin * H, H);
    }
    // A row of length 0 never ran: its initial state's gradient is what arrived at its final state.
    for (int64_t b = rows.begin; b < rows.end; ++b) {
      const bool ran = p.len[static_cast<std::size_t>(b)] > 0;
      for (int64_t bj = b * H; bj < (b + 1) * H; ++bj) {
        if (gr.dh0 != nullptr) store(static_cast<C*>(gr.dh0)[bj], ran ? dh[bj] : dh_n[bj], a.input_mode);
        if (gr.dc0 != nullptr) store(static_cast<C*>(gr.dc0)[bj], ran ? dc[bj] : dc_n[bj], a.input_mode);
      }
    }
    if (nt > 1) {  // the same for every thread of the team, as a barrier must be
#pragma omp barrier
    }
    // The weight gradients sum over every (t, b): one GEMM each over all T*B rows of dZ, split
    // by output rows (gate columns of dZ) or, for dx, by the T*B rows.
    const Range gates = even_split(G, k, nt);
    const int64_t m = gates.end - gates.begin;
    if (gr.dw_ih != nullptr)
      gemm(Transpose::Yes, Transpose::No, m, Cin, N, dZs + gates.begin, G, x, Cin, param_beta,
           static_cast<C*>(gr.dw_ih) + gates.begin * Cin, Cin);
    if (gr.dw_hh != nullptr)
      gemm(Transpose::Yes, Transpose::No, m, H, N, dZs + gates.begin, G, Hprev, H, param_beta,
           static_cast<C*>(gr.dw_hh) + gates.begin * H, H);
    if (a.dx != nullptr && with_dx) dx_rows_gemm<C, S>(a, d, dZs, even_split(N, k, nt));
    if (gr.dbias != nullptr) {
      C* db = static_cast<C*>(gr.dbias);
      for (int64_t j0 = gates.begin; j0 < gates.end; j0 += kBiasColumns) {
        const int64_t width = std::min(kBiasColumns, gates.end - j0);
        C sum[kBiasColumns];
        lstm_cpu::column_sums(dZ + j0, N, G, width, sum);
        for (int64_t q = 0; q < width; ++q) store(db[j0 + q], sum[q], a.param_mode);
      }
    }
  }
}

template <typename C, typename S>
BwdScratch<C, S> bwd_scratch(const LstmSeqFwdArgs& fa) {
  const int64_t N = fa.T * fa.B, G = 4 * fa.H, BH = fa.B * fa.H;
  BwdScratch<C, S> w{scratch<C>(kBig, N * G),        scratch<S>(kBigS, kBf16<S> ? N * G : 0),
                     scratch<S>(kRowsH, N * fa.H),    scratch<S>(kStepG, fa.B * G),
                     scratch<C>(kStateH, BH),         scratch<C>(kStateC, BH),
                     scratch<C>(kZeros, BH),          scratch<S>(kZerosS, BH)};
  std::fill_n(w.zeros, BH, C(0));
  std::fill_n(w.zeros_s, BH, put<S>(C(0)));
  return w;
}

// What the dx GEMM of direction d reads: dZ itself, or its bf16 copy.
template <typename C, typename S>
const S* dz_for_gemms(const BwdScratch<C, S>& w) {
  if constexpr (kBf16<S>) return w.dZs;
  else return w.dZ;
}

template <typename C, typename S = C>
void backward(const LstmSeqBwdArgs& a, const Plan& p) {
  const LstmSeqFwdArgs& fa = a.fwd;
  if (by_direction(fa.D, p)) {
    const S* dzs[2] = {nullptr, nullptr};
#pragma omp parallel num_threads(2)
    {
      const int k = omp_get_thread_num(), nt = omp_get_num_threads();
      if (nt == 2) {
        BwdScratch<C, S> w = bwd_scratch<C, S>(fa);  // the calling thread's arena: direction k's
        backward_direction_part<C, S>(a, k, p, w, 0, 1, false);
        dzs[k] = dz_for_gemms(w);
#pragma omp barrier
        // dx = dZ_0 W_ih_0 (+ old dx) + dZ_1 W_ih_1: both directions' GEMMs on this thread's rows,
        // in that order, exactly the calls of the row split.
        if (a.dx != nullptr)
          for (int d = 0; d < 2; ++d) dx_rows_gemm<C, S>(a, d, dzs[d], even_split(fa.T * fa.B, k, nt));
      } else {  // the runtime gave one thread: both directions on it, one after the other
        BwdScratch<C, S> w = bwd_scratch<C, S>(fa);
        for (int d = 0; d < fa.D; ++d) backward_direction_part<C, S>(a, d, p, w, 0, 1, true);
      }
    }
    return;
  }
  BwdScratch<C, S> w = bwd_scratch<C, S>(fa);
  for (int d = 0; d < fa.D; ++d) {
#pragma omp parallel num_threads(p.threads)
    backward_direction_part<C, S>(a, d, p, w, omp_get_thread_num(), omp_get_num_threads(), true);
  }
}

}  // namespace

// ---- entry points --------------------------------------------------------------------------------

void lstm_seq_fwd_cpu(const LstmSeqFwdArgs& a) {
  const Plan p = make_plan(a, "lstm_seq_fwd_cpu");
  switch (a.dtype) {
    case DType::F32: forward<float>(a, p); return;
    case DType::F64: forward<double>(a, p); return;
    case DType::BF16:  // native: lstm_widen_cpu.h widens only what is no GEMM operand
      lstm_cpu::forward_bf16_native(a, [&](const LstmSeqFwdArgs& mixed) { forward<float, BFloat16>(mixed, p); });
      return;
    case DType::F16:  // widened: F16 GEMMs with an F32 C have no fast CPU route to gain from
      lstm_cpu::forward_widened(a, [&](const LstmSeqFwdArgs& f32) { forward<float>(f32, p); });
      return;
    case DType::I32: break;  // rejected by make_plan
  }
}

void lstm_seq_bwd_cpu(const LstmSeqBwdArgs& a) {
  const Plan p = make_plan(a.fwd, "lstm_seq_bwd_cpu");
  const bool saved_something = a.fwd.T * a.fwd.B * a.fwd.H > 0;  // empty buffers may be nullptr
  for (int d = 0; d < a.fwd.D && saved_something; ++d)
    LOOM_CHECK_SHAPE(a.fwd.dirs[d].c_saved != nullptr && a.fwd.dirs[d].gates_saved != nullptr,
                     "lstm_seq_bwd_cpu: direction ", d,
                     " has no saved c / gates: backward needs a training forward (c_saved, gates_saved set)");
  switch (a.fwd.dtype) {
    case DType::F32: backward<float>(a, p); return;
    case DType::F64: backward<double>(a, p); return;
    case DType::BF16:
      lstm_cpu::backward_bf16_native(a, [&](const LstmSeqBwdArgs& mixed) { backward<float, BFloat16>(mixed, p); });
      return;
    case DType::F16:
      lstm_cpu::backward_widened(a, [&](const LstmSeqBwdArgs& f32) { backward<float>(f32, p); });
      return;
    case DType::I32: break;
  }
}

// The formulas of the opening comment, per direction.
Cost lstm_seq_fwd_cost(const LstmSeqFwdArgs& a) {
  const double T = static_cast<double>(a.T), B = static_cast<double>(a.B), C = static_cast<double>(a.C);
  const double H = static_cast<double>(a.H), G = 4 * H, N = T * B;
  const double s = static_cast<double>(dtype_size(a.dtype)), saved = a.dtype == DType::F64 ? 8.0 : 4.0;
  Cost cost;
  for (int d = 0; d < a.D; ++d) {
    const LstmDirection& dir = a.dirs[d];
    cost.flops += 2 * N * G * (C + H) + 23 * N * H;
    const double given = (dir.h0 != nullptr ? 1 : 0) + (dir.c0 != nullptr ? 1 : 0);
    cost.bytes += s * (N * C + G * (C + H + 1) + N * H + 2 * B * H + given * B * H);
    if (dir.c_saved != nullptr && dir.gates_saved != nullptr) cost.bytes += saved * (N * H + N * G);
  }
  return cost;
}

Cost lstm_seq_bwd_cost(const LstmSeqBwdArgs& a) {
  const LstmSeqFwdArgs& fa = a.fwd;
  const double T = static_cast<double>(fa.T), B = static_cast<double>(fa.B), C = static_cast<double>(fa.C);
  const double H = static_cast<double>(fa.H), G = 4 * H, N = T * B;
  const double s = static_cast<double>(dtype_size(fa.dtype)), saved = fa.dtype == DType::F64 ? 8.0 : 4.0;
  const double param_rw = a.param_mode == GradMode::Accumulate ? 2 : 1;
  const double input_rw = a.input_mode == GradMode::Accumulate ? 2 : 1;
  Cost cost;
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirection& dir = fa.dirs[d];
    const LstmDirectionGrad& g = a.grads[d];
    cost.flops += 2 * N * G * H + 25 * N * H;
    cost.flops += (g.dw_hh != nullptr) * 2 * N * G * H + (g.dw_ih != nullptr) * 2 * N * G * C;
    cost.flops += (a.dx != nullptr) * 2 * N * G * C + (g.dbias != nullptr) * N * G;
    const double given = (a.dy != nullptr ? N : 0) +
                         B * ((dir.h0 != nullptr) + (dir.c0 != nullptr) + (g.dh_n != nullptr) + (g.dc_n != nullptr));
    cost.bytes += s * (N * C + G * (C + H) + given * H) + saved * (N * H + N * G);
    cost.bytes += s * param_rw * ((g.dw_ih != nullptr) * G * C + (g.dw_hh != nullptr) * G * H + (g.dbias != nullptr) * G);
    cost.bytes += s * input_rw * B * H * ((g.dh0 != nullptr) + (g.dc0 != nullptr));
    if (a.dx != nullptr) cost.bytes += s * N * C * (d > 0 || a.input_mode == GradMode::Accumulate ? 2 : 1);
  }
  return cost;
}

}  // namespace loom::kernels
