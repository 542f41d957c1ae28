// kernels/conv1d/conv1d_cpu_common.h (internal: conv1d_reference.cc and conv1d_cpu.cc only): what
// the two CPU forms of the conv1d family share, so that they check arguments the same way and run
// F16/BF16 storage the same way.
//
//   check_geometry / check_textcnn / row_lengths   argument checks (ShapeError naming the op)
//   width_geometry / total_filters                  one text-CNN width as a plain convolution
//   store / beats                                   the GradMode store and the running-max rule
//   run_conv_fwd / run_conv_bwd / run_textcnn_*     run(args, tag) with tag a float or double: F32
//                                                   and F64 run in their own type; F16/BF16 storage
//                                                   is widened to F32 once, the float path runs,
//                                                   and each output is rounded once at the end (an
//                                                   accumulating output is widened first).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/common/widen_cpu.h"
#include "kernels/conv1d/conv1d.h"

namespace loom::kernels::conv1d_cpu {

using std::int64_t;

inline void check_geometry(const Conv1dGeometry& g, DType t, const std::string& op) {
  LOOM_CHECK_SHAPE(t != DType::I32, op, ": expected a float dtype (f32, f64, f16, bf16), got i32");
  LOOM_CHECK_SHAPE(g.T >= 0 && g.B >= 0 && g.C >= 0 && g.F >= 0, op, ": negative size (T = ", g.T, ", B = ", g.B,
                   ", C = ", g.C, ", F = ", g.F, ")");
  LOOM_CHECK_SHAPE(g.K >= 1 && g.dilation >= 1, op, ": kernel width and dilation must be >= 1 (K = ", g.K,
                   ", dilation = ", g.dilation, ")");
  LOOM_CHECK_SHAPE(g.pad_left >= 0 && g.pad_right >= 0, op, ": negative padding (", g.pad_left, ", ", g.pad_right,
                   ")");
  LOOM_CHECK_SHAPE(g.out_T() >= 1, op, ": no output position, T' = T + pad_left + pad_right - dilation*(K-1) = ",
                   g.out_T(), " < 1 (T = ", g.T, ", K = ", g.K, ", dilation = ", g.dilation, ", padding = (",
                   g.pad_left, ", ", g.pad_right, "))");
}

// The one place a gradient is written: Accumulate adds the old value in the compute type.
template <typename C>
inline void store(C& dst, C value, GradMode mode) {
  dst = mode == GradMode::Accumulate ? dst + value : value;
}

// The running-max rule of the fused block: strictly greater replaces (so the first index wins
// ties), and the first NaN replaces a number and then stays.
template <typename C>
inline bool beats(C v, C best) {
  return v > best || (v != v && best == best);
}

inline Conv1dGeometry width_geometry(const TextCnnFwdArgs& a, int w) {
  const TextCnnWidth& wd = a.widths[w];
  Conv1dGeometry g;
  g.T = a.T, g.B = a.B, g.C = a.C, g.F = wd.F, g.K = wd.K;
  g.dilation = wd.dilation, g.pad_left = wd.pad_left, g.pad_right = wd.pad_right;
  return g;
}

inline int64_t total_filters(const TextCnnFwdArgs& a) {
  int64_t sum = 0;
  for (int w = 0; w < a.num_widths; ++w) sum += a.widths[w].F;
  return sum;
}

// Row lengths, checked once: nullptr means every row is T long.
inline std::vector<int64_t> row_lengths(const TextCnnFwdArgs& a, const std::string& op) {
  std::vector<int64_t> len(static_cast<std::size_t>(a.B), a.T);
  for (int64_t b = 0; a.lengths != nullptr && b < a.B; ++b) {
    const int64_t L = a.lengths[b];
    LOOM_CHECK_SHAPE(L >= 0 && L <= a.T, op, ": lengths[", b, "] = ", L, " is outside [0, T] with T = ", a.T);
    len[static_cast<std::size_t>(b)] = L;
  }
  return len;
}

inline void check_textcnn(const TextCnnFwdArgs& a, const std::string& op) {
  LOOM_CHECK_SHAPE(a.num_widths >= 1 && a.num_widths <= kMaxTextCnnWidths, op, ": num_widths = ", a.num_widths,
                   " is outside [1, ", kMaxTextCnnWidths, "]");
  for (int w = 0; w < a.num_widths; ++w)
    check_geometry(width_geometry(a, w), a.dtype, op + " (width " + std::to_string(w) + ")");
}

// The text-CNN backward's plain float rows whatever the CPU (textcnn_bwd_cpu takes the AVX-512
// rows where the CPU has them), for the test that the two give the same bits; and which rows
// textcnn_bwd_cpu runs: "avx512bw" or "baseline". Defined in conv1d_cpu.cc.
void textcnn_bwd_cpu_baseline(const TextCnnBwdArgs& a);
const char* textcnn_bwd_isa();

// The AVX-512 rows (textcnn_bwd_avx512.cc): dweight and dx of the text-CNN backward, each output
// row summed in registers, the plain rows' bits. pooled, dpooled and the dweights are F32; x, the
// weights and dx are `storage`, F32 or BF16 (read and written in place). dbias is the caller's.
bool textcnn_rows_avx512_available();
void textcnn_bwd_rows_avx512(const TextCnnBwdArgs& a, DType storage);

// ---- F16 / BF16 storage: widen once, run the float path, round once --------------------------------

template <typename Run>
void run_conv_fwd(const Conv1dFwdArgs& a, Run run) {
  using cpu::Wide;
  if (a.dtype == DType::F32) return run(a, float{});
  if (a.dtype == DType::F64) return run(a, double{});
  const Conv1dGeometry& g = a.g;
  Conv1dFwdArgs f = a;
  f.dtype = DType::F32;
  Wide x = cpu::widen(a.x, a.dtype, g.T * g.B * g.C), w = cpu::widen(a.weight, a.dtype, g.F * g.K * g.C);
  Wide bias = cpu::widen(a.bias, a.dtype, g.F);
  Wide y = cpu::output(a.y, a.dtype, g.out_T() * g.B * g.F, GradMode::Overwrite);
  f.x = x.ptr(), f.weight = w.ptr(), f.bias = bias.ptr(), f.y = y.ptr();
  run(f, float{});
  cpu::round_into(y, a.y, a.dtype);
}

template <typename Run>
void run_conv_bwd(const Conv1dBwdArgs& a, Run run) {
  using cpu::Wide;
  if (a.dtype == DType::F32) return run(a, float{});
  if (a.dtype == DType::F64) return run(a, double{});
  const Conv1dGeometry& g = a.g;
  const int64_t nx = g.T * g.B * g.C, nw = g.F * g.K * g.C;
  Conv1dBwdArgs f = a;
  f.dtype = DType::F32;
  Wide x = cpu::widen(a.x, a.dtype, nx), w = cpu::widen(a.weight, a.dtype, nw);
  Wide dy = cpu::widen(a.dy, a.dtype, g.out_T() * g.B * g.F);
  Wide dx = cpu::output(a.dx, a.dtype, nx, a.input_mode), dw = cpu::output(a.dweight, a.dtype, nw, a.param_mode);
  Wide db = cpu::output(a.dbias, a.dtype, g.F, a.param_mode);
  f.x = x.ptr(), f.weight = w.ptr(), f.dy = dy.ptr(), f.dx = dx.ptr(), f.dweight = dw.ptr(), f.dbias = db.ptr();
  run(f, float{});
  cpu::round_into(dx, a.dx, a.dtype), cpu::round_into(dw, a.dweight, a.dtype), cpu::round_into(db, a.dbias, a.dtype);
}

// Float copies of the text-CNN inputs shared by forward and backward.
struct WideTextCnn {
  cpu::Wide x, weight[kMaxTextCnnWidths], bias[kMaxTextCnnWidths];
};

inline void widen_textcnn(const TextCnnFwdArgs& a, TextCnnFwdArgs& f, WideTextCnn& wide) {
  f.dtype = DType::F32;
  wide.x = cpu::widen(a.x, a.dtype, a.T * a.B * a.C);
  f.x = wide.x.ptr();
  for (int w = 0; w < a.num_widths; ++w) {
    const TextCnnWidth& wd = a.widths[w];
    wide.weight[w] = cpu::widen(wd.weight, a.dtype, wd.F * wd.K * a.C);
    wide.bias[w] = cpu::widen(wd.bias, a.dtype, wd.F);
    f.widths[w].weight = wide.weight[w].ptr(), f.widths[w].bias = wide.bias[w].ptr();
  }
}

template <typename Run>
void run_textcnn_fwd(const TextCnnFwdArgs& a, Run run) {
  if (a.dtype == DType::F32) return run(a, float{});
  if (a.dtype == DType::F64) return run(a, double{});
  TextCnnFwdArgs f = a;
  WideTextCnn wide;
  widen_textcnn(a, f, wide);
  cpu::Wide pooled = cpu::output(a.pooled, a.dtype, a.B * total_filters(a), GradMode::Overwrite);
  f.pooled = pooled.ptr();
  run(f, float{});
  cpu::round_into(pooled, a.pooled, a.dtype);
}

// F16 / BF16: runs the float path on widened copies and rounds every output once. x_dx_as_stored
// (BF16 on a CPU with the AVX-512 rows, which widen and round in their registers): x, the weights
// and dx stay as stored and run gets them as they are; only pooled, dpooled, dweight and dbias
// (small) are widened. dweight and dbias are not zeroed under Overwrite: every path writes each
// of their elements (dweight_row and the AVX-512 rows zero or load a row before adding into it).
template <typename Run>
void run_textcnn_bwd(const TextCnnBwdArgs& a, Run run, bool x_dx_as_stored = false) {
  using cpu::Wide;
  const TextCnnFwdArgs& fa = a.fwd;
  if (fa.dtype == DType::F32) return run(a, float{});
  if (fa.dtype == DType::F64) return run(a, double{});
  const int64_t nb = fa.B * total_filters(fa);
  TextCnnBwdArgs f = a;
  WideTextCnn wide;
  Wide dx;
  if (x_dx_as_stored) {
    f.fwd.dtype = DType::F32;  // of pooled, dpooled, dweight and dbias
  } else {
    widen_textcnn(fa, f.fwd, wide);
    dx = cpu::output(a.dx, fa.dtype, fa.T * fa.B * fa.C, a.input_mode);
    f.dx = dx.ptr();
  }
  Wide pooled = cpu::widen(fa.pooled, fa.dtype, nb), dpooled = cpu::widen(a.dpooled, fa.dtype, nb);
  Wide dw[kMaxTextCnnWidths], db[kMaxTextCnnWidths];
  for (int w = 0; w < fa.num_widths; ++w) {
    const TextCnnWidth& wd = fa.widths[w];
    dw[w] = cpu::overwritten_output(wd.dweight, fa.dtype, wd.F * wd.K * fa.C, a.param_mode);
    db[w] = cpu::overwritten_output(wd.dbias, fa.dtype, wd.F, a.param_mode);
    f.fwd.widths[w].dweight = dw[w].ptr(), f.fwd.widths[w].dbias = db[w].ptr();
  }
  f.fwd.pooled = pooled.ptr(), f.dpooled = dpooled.ptr();
  run(f, float{});
  if (!x_dx_as_stored) cpu::round_into(dx, a.dx, fa.dtype);
  for (int w = 0; w < fa.num_widths; ++w) {
    cpu::round_into(dw[w], fa.widths[w].dweight, fa.dtype);
    cpu::round_into(db[w], fa.widths[w].dbias, fa.dtype);
  }
}

}  // namespace loom::kernels::conv1d_cpu
