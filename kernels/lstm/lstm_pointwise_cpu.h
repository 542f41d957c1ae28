// kernels/lstm/lstm_pointwise_cpu.h (internal to kernels/lstm): the F32 pointwise passes of the
// CPU LSTM (lstm_cpu.cc), one batch row of one step at a time, written as branch-free loops over
// the H units that the compiler vectorizes, with a polynomial exp in place of std::exp.
//
// exp(x), for x clamped to [-87, 88] (outside, sigmoid and tanh are already 0 / 1 / -1 to F32):
//   n = round(x / ln2)                       (the 1.5 * 2^23 trick: adding it rounds to an integer)
//   r = x - n ln2_hi - n ln2_lo              |r| <= ln2 / 2 = 0.347; ln2_hi has 9 significant bits,
//                                            so n ln2_hi is exact for |n| <= 128
//   exp(x) = 2^n exp(r),  exp(r) ~ sum_{k=0..7} r^k / k!   (Horner)
// The Taylor tail is r^8 / 8! <= 5.3e-9 relative, well under F32's half-ulp (6e-8); the error that
// remains is the rounding of the Horner steps and of the reduction. Measured over every 1/4096 of
// [-87, 88] against exp in double (tests/kernels/test_lstm_cpu.cc): max relative error 1.0e-7,
// 1.19 ulp of the F32 result (glibc's expf is within 0.5 ulp). 2^n is built from its exponent
// bits ((n + 127) << 23, normal for n in [-126, 127]) and multiplied in, so results below 2^-126
// round correctly into subnormals.
//   sigmoid(z) = 1 / (1 + exp(-z))
//   tanh(x)    = 1 - 2 / (exp(2x) + 1)       (exp(2x) -> 0 gives -1, -> exp(88) gives 1, no NaN)
// tanh near 0 is a difference of two numbers near 1: its error is absolute, ~1 ulp of 1 (1.2e-7),
// not relative. The tests' F32 tolerance (atol 1e-5) covers it by two orders.
//
// Two builds of each pass: the baseline x86-64 ISA (SSE2, 4 lanes) and AVX-512F (16 lanes),
// picked once at run time (__builtin_cpu_supports). The binary stays portable (no -march flag).
// Both builds must give the same bits, so that a run (and a resume) does not depend on the CPU it
// lands on: the passes are compiled with fp-contract off (no fused multiply-add, which only the
// AVX-512 build could use), and every operation is an IEEE add, multiply, divide or an exact bit
// operation, which round the same in any lane width. A test checks the two builds agree bitwise.
//
// The passes (per row b, unit j; the gate blocks i, f, g, o of z are H apart):
//   forward:  z = zx + zh + bias; i, f, o = sigmoid, g = tanh; c = f c + i g; h = o tanh(c);
//             writes c, h (state), y, and in training the saved c and gates
//   backward: from the saved gates and c: tanh_c, dh = dy + dh_in, dc = dc_in + dh o (1 - tanh_c^2),
//             the four dz, dc_prev = dc f, and h = o tanh_c (the Hprev row of the next step)
// With BF16 storage the same passes also round what feeds a GEMM (h, dz) and y to bf16, to nearest
// even, exactly as core/dtype.h's float_to_bf16_bits (NaN -> 0x7fff).
#pragma once

#include <cstdint>

namespace loom::kernels::lstm_cpu {

// Forward pass over one row's H units. c_saved and gates are nullptr for an inference forward.
struct PointwiseFwd {
  const float* zx;     // [G] the input projection of this (t, b)
  const float* zh;     // [G] the recurrent projection of this b
  const float* bias;   // [G]
  float* c;            // [H] cell state, read and written
  float* h;            // [H] hidden state, written
  float* y;            // [H] this direction's columns of y at (t, b)
  float* c_saved;      // [H] or nullptr
  float* gates;        // [G] or nullptr
  // BF16 storage (lstm_cpu.cc's native path): h and y are written rounded to bf16 here instead of
  // to h and y above (the F32 h is never needed: it feeds only the recurrent GEMM and y).
  std::uint16_t* h_bf16 = nullptr;
  std::uint16_t* y_bf16 = nullptr;
};

// Backward pass over one row's H units. h_next is nullptr at the row's last step.
struct PointwiseBwd {
  const float* gates;   // [G] saved i, f, g, o
  const float* c;       // [H] saved c of this step
  const float* c_prev;  // [H] c of the step before (c0 at s = 0)
  const float* dy;      // [H] (zeros when y gets no gradient)
  const float* dh_in;   // [H] dh carried from the step after (or dh_n)
  const float* dc_in;   // [H] dc carried from the step after (or dc_n)
  float* dz;            // [G] written
  float* dc_out;        // [H] dc_prev, written (may alias dc_in: read before written, per unit)
  float* h_next;        // [H] or nullptr: h = o tanh(c), the next step's h_prev
  // BF16 storage: a bf16 copy of dz for the GEMMs (dz above stays F32 for the bias sum), and
  // h_next written rounded to bf16 instead of F32 (the forward's h, bit for bit).
  std::uint16_t* dz_bf16 = nullptr;
  std::uint16_t* h_next_bf16 = nullptr;
};

void pointwise_fwd(const PointwiseFwd& p, std::int64_t H);
void pointwise_bwd(const PointwiseBwd& p, std::int64_t H);

// The same passes from the baseline build, whatever the CPU: for the test that the two agree.
void pointwise_fwd_baseline(const PointwiseFwd& p, std::int64_t H);
void pointwise_bwd_baseline(const PointwiseBwd& p, std::int64_t H);
// Which build pointwise_fwd / pointwise_bwd run: "avx512f" or "baseline".
const char* pointwise_isa();

// n F32 values rounded to bf16 bits (core/dtype.h's float_to_bf16_bits, NaN -> 0x7fff), 16 lanes
// at a time on AVX-512F and threaded above loom::kParallelGrain: the native BF16 path's one
// rounding of each output (lstm_widen_cpu.h), which the generic scalar loop did 4x slower. Now
// kernels/common/bf16_cpu.h's cpu::round_to_bf16, shared with conv1d and the casts; kept here
// under its old name for the LSTM's callers and tests.
void round_to_bf16(const float* src, std::int64_t n, std::uint16_t* dst);
// The bias gradient's column sums: out[q] = sum over r < rows of z[r * ld + q], q < width <= 64,
// each column summed from 0 in row order (so the same bits as the plain nested loop). On AVX-512F
// a full 64-column block keeps its sums in four registers; the plain loop kept them on the stack
// (a load, add and store per 4 columns per row: 70% of the backward's own samples in bf16).
void column_sums(const float* z, std::int64_t rows, std::int64_t ld, std::int64_t width, float* out);
// The same sums in F64 (the plain loop only).
void column_sums(const double* z, std::int64_t rows, std::int64_t ld, std::int64_t width, double* out);

// The polynomial exp, scalar, for the accuracy test.
float fast_exp(float x);

}  // namespace loom::kernels::lstm_cpu
