// kernels/lstm/lstm_widen_cpu.h (internal to kernels/lstm): how both CPU LSTMs, the reference
// (lstm_reference.cc) and the training path (lstm_cpu.cc), run F16 / BF16 storage: widen every
// input to F32 once, run the float path, round every output once. Gradients that accumulate are
// widened first, so the sum happens in F32 and rounds once. The saved c and gates are F32 already
// and pass through.
//
//   forward_widened(a, [&](const LstmSeqFwdArgs& f32) { forward<float>(f32); });
//
// And the training path's native BF16 (lstm_cpu.cc): forward_bf16_native / backward_bf16_native
// widen only what is no GEMM operand (bias, c0; dy, dh_n, dc_n) and give F32 buffers for every
// output but y and h_n (c_n and the gradients), rounded once at the end; x, the weights, h0, y and
// h_n stay bf16 and pass through. The run they wrap therefore receives args whose dtype says BF16
// but whose bias, c0, c_n, dy, dh_n, dc_n and gradients are F32.
#pragma once

#include "kernels/common/widen_cpu.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_pointwise_cpu.h"

namespace loom::kernels::lstm_cpu {

// Float copies of everything a direction reads or writes in storage type.
struct WideDirection {
  cpu::Wide w_ih, w_hh, bias, h0, c0, h_n, c_n;
};

inline void widen_inputs(const LstmSeqFwdArgs& a, LstmSeqFwdArgs& f32, cpu::Wide& x, WideDirection (&wd)[2]) {
  const std::int64_t G = 4 * a.H, BH = a.B * a.H;
  f32.dtype = DType::F32;
  x = cpu::widen(a.x, a.dtype, a.T * a.B * a.C);
  f32.x = x.ptr();
  for (int d = 0; d < a.D; ++d) {
    const LstmDirection& in = a.dirs[d];
    LstmDirection& out = f32.dirs[d];
    wd[d].w_ih = cpu::widen(in.w_ih, a.dtype, G * a.C);
    wd[d].w_hh = cpu::widen(in.w_hh, a.dtype, G * a.H);
    wd[d].bias = cpu::widen(in.bias, a.dtype, G);
    wd[d].h0 = cpu::widen(in.h0, a.dtype, BH);
    wd[d].c0 = cpu::widen(in.c0, a.dtype, BH);
    out.w_ih = wd[d].w_ih.ptr(), out.w_hh = wd[d].w_hh.ptr(), out.bias = wd[d].bias.ptr();
    out.h0 = wd[d].h0.ptr(), out.c0 = wd[d].c0.ptr();
  }
}

template <class RunF32>
void forward_widened(const LstmSeqFwdArgs& a, RunF32&& run_f32) {
  using cpu::output;
  using cpu::round_into;
  const std::int64_t BH = a.B * a.H;
  LstmSeqFwdArgs f32 = a;
  cpu::Wide x;
  WideDirection wd[2];
  widen_inputs(a, f32, x, wd);
  cpu::Wide y = output(a.y, a.dtype, a.T * a.B * a.D * a.H, GradMode::Overwrite);
  f32.y = y.ptr();
  for (int d = 0; d < a.D; ++d) {
    wd[d].h_n = output(a.dirs[d].h_n, a.dtype, BH, GradMode::Overwrite);
    wd[d].c_n = output(a.dirs[d].c_n, a.dtype, BH, GradMode::Overwrite);
    f32.dirs[d].h_n = wd[d].h_n.ptr(), f32.dirs[d].c_n = wd[d].c_n.ptr();
  }
  run_f32(static_cast<const LstmSeqFwdArgs&>(f32));
  round_into(y, a.y, a.dtype);
  for (int d = 0; d < a.D; ++d) {
    round_into(wd[d].h_n, a.dirs[d].h_n, a.dtype);
    round_into(wd[d].c_n, a.dirs[d].c_n, a.dtype);
  }
}

template <class RunF32>
void backward_widened(const LstmSeqBwdArgs& a, RunF32&& run_f32) {
  using cpu::output;
  using cpu::round_into;
  using cpu::widen;
  const LstmSeqFwdArgs& fa = a.fwd;
  const DType t = fa.dtype;
  const std::int64_t G = 4 * fa.H, BH = fa.B * fa.H;
  LstmSeqBwdArgs f32 = a;
  cpu::Wide x;
  WideDirection wd[2];
  widen_inputs(fa, f32.fwd, x, wd);
  f32.fwd.y = nullptr;  // backward recomputes h from the saved F32 buffers
  cpu::Wide dy = widen(a.dy, t, fa.T * fa.B * fa.D * fa.H);
  cpu::Wide dx = output(a.dx, t, fa.T * fa.B * fa.C, a.input_mode);
  f32.dy = dy.ptr(), f32.dx = dx.ptr();
  struct WideGrad {
    cpu::Wide dw_ih, dw_hh, dbias, dh0, dc0, dh_n, dc_n;
  } wg[2];
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirectionGrad& in = a.grads[d];
    LstmDirectionGrad& out = f32.grads[d];
    wg[d].dw_ih = output(in.dw_ih, t, G * fa.C, a.param_mode);
    wg[d].dw_hh = output(in.dw_hh, t, G * fa.H, a.param_mode);
    wg[d].dbias = output(in.dbias, t, G, a.param_mode);
    wg[d].dh0 = output(in.dh0, t, BH, a.input_mode);
    wg[d].dc0 = output(in.dc0, t, BH, a.input_mode);
    wg[d].dh_n = widen(in.dh_n, t, BH);
    wg[d].dc_n = widen(in.dc_n, t, BH);
    out.dw_ih = wg[d].dw_ih.ptr(), out.dw_hh = wg[d].dw_hh.ptr(), out.dbias = wg[d].dbias.ptr();
    out.dh0 = wg[d].dh0.ptr(), out.dc0 = wg[d].dc0.ptr();
    out.dh_n = wg[d].dh_n.ptr(), out.dc_n = wg[d].dc_n.ptr();
  }
  run_f32(static_cast<const LstmSeqBwdArgs&>(f32));
  round_into(dx, a.dx, t);
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirectionGrad& g = a.grads[d];
    round_into(wg[d].dw_ih, g.dw_ih, t), round_into(wg[d].dw_hh, g.dw_hh, t), round_into(wg[d].dbias, g.dbias, t);
    round_into(wg[d].dh0, g.dh0, t), round_into(wg[d].dc0, g.dc0, t);
  }
}

// The native BF16 wrappers' one rounding per output: round_into's bits, vectorized
// (lstm_pointwise_cpu.h's round_to_bf16); dx alone is T*B*C values per call.
inline void round_into_bf16(const cpu::Wide& w, void* dst) {
  if (dst == nullptr) return;
  round_to_bf16(w.data.get(), w.n, static_cast<std::uint16_t*>(dst));
}

// Native BF16, forward: bias and c0 widened, c_n produced in F32 and rounded once.
template <class RunMixed>
void forward_bf16_native(const LstmSeqFwdArgs& a, RunMixed&& run_mixed) {
  const std::int64_t G = 4 * a.H, BH = a.B * a.H;
  LstmSeqFwdArgs f = a;
  cpu::Wide bias[2], c0[2], c_n[2];
  for (int d = 0; d < a.D; ++d) {
    bias[d] = cpu::widen(a.dirs[d].bias, a.dtype, G);
    c0[d] = cpu::widen(a.dirs[d].c0, a.dtype, BH);
    c_n[d] = cpu::overwritten_output(a.dirs[d].c_n, a.dtype, BH, GradMode::Overwrite);
    f.dirs[d].bias = bias[d].ptr(), f.dirs[d].c0 = c0[d].ptr(), f.dirs[d].c_n = c_n[d].ptr();
  }
  run_mixed(static_cast<const LstmSeqFwdArgs&>(f));
  for (int d = 0; d < a.D; ++d) round_into_bf16(c_n[d], a.dirs[d].c_n);
}

// Native BF16, backward: c0, dy, dh_n, dc_n widened; every gradient produced in F32 (the old value
// widened first under Accumulate, so the sum is F32; dx also across the two directions) and
// rounded once.
template <class RunMixed>
void backward_bf16_native(const LstmSeqBwdArgs& a, RunMixed&& run_mixed) {
  using cpu::overwritten_output;
  using cpu::widen;
  const LstmSeqFwdArgs& fa = a.fwd;
  const DType t = fa.dtype;
  const std::int64_t G = 4 * fa.H, BH = fa.B * fa.H;
  LstmSeqBwdArgs f = a;
  cpu::Wide c0[2], dy = widen(a.dy, t, fa.T * fa.B * fa.D * fa.H);
  cpu::Wide dx = overwritten_output(a.dx, t, fa.T * fa.B * fa.C, a.input_mode);
  f.dy = dy.ptr(), f.dx = dx.ptr();
  struct {
    cpu::Wide dw_ih, dw_hh, dbias, dh0, dc0, dh_n, dc_n;
  } g[2];
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirectionGrad& in = a.grads[d];
    LstmDirectionGrad& out = f.grads[d];
    c0[d] = widen(fa.dirs[d].c0, t, BH);
    f.fwd.dirs[d].c0 = c0[d].ptr();
    g[d].dw_ih = overwritten_output(in.dw_ih, t, G * fa.C, a.param_mode);
    g[d].dw_hh = overwritten_output(in.dw_hh, t, G * fa.H, a.param_mode);
    g[d].dbias = overwritten_output(in.dbias, t, G, a.param_mode);
    g[d].dh0 = overwritten_output(in.dh0, t, BH, a.input_mode);
    g[d].dc0 = overwritten_output(in.dc0, t, BH, a.input_mode);
    g[d].dh_n = widen(in.dh_n, t, BH);
    g[d].dc_n = widen(in.dc_n, t, BH);
    out.dw_ih = g[d].dw_ih.ptr(), out.dw_hh = g[d].dw_hh.ptr(), out.dbias = g[d].dbias.ptr();
    out.dh0 = g[d].dh0.ptr(), out.dc0 = g[d].dc0.ptr(), out.dh_n = g[d].dh_n.ptr(), out.dc_n = g[d].dc_n.ptr();
  }
  run_mixed(static_cast<const LstmSeqBwdArgs&>(f));
  round_into_bf16(dx, a.dx);
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirectionGrad& out = a.grads[d];
    round_into_bf16(g[d].dw_ih, out.dw_ih), round_into_bf16(g[d].dw_hh, out.dw_hh);
    round_into_bf16(g[d].dbias, out.dbias), round_into_bf16(g[d].dh0, out.dh0), round_into_bf16(g[d].dc0, out.dc0);
  }
}

}  // namespace loom::kernels::lstm_cpu
