// kernels/conv1d/conv1d_reference.cc: the naive reference of the conv1d family (row "reference" of
// both tables in conv1d_variants.h): plain loops that read like the formulas of conv1d.h, one
// output element at a time, with no threads, no BLAS and no tiling. It is slow on purpose: it is
// the oracle the tests hold every other variant against (and itself against F64 finite
// differences), and the first thing to read in kernels/conv1d/README.md.
//
// With s_k = k*dil - pad_left the shift of tap k (x outside [0, T) reads as 0):
//   y[t', b, f]      = bias[f] + sum_k sum_c weight[f, k, c] * x[t' + s_k, b, c]
//   dx[t, b, c]      = sum_k sum_f dy[t - s_k, b, f] * weight[f, k, c]      (0 <= t - s_k < T')
//   dweight[f, k, c] = sum_t' sum_b dy[t', b, f] * x[t' + s_k, b, c]        (0 <= t' + s_k < T)
//   dbias[f]         = sum_t' sum_b dy[t', b, f]
// The text-CNN block is the same convolution followed by a max over the row's valid positions
// (first index on ties, a NaN wins) and a ReLU of the winner; its backward sends the gradient
// only through the winning window, and only where the pooled value is > 0.
//
// Precision: F32 and F64 accumulate in their own type; F16/BF16 storage is widened to F32 and
// rounded once, exactly as the CPU path does (conv1d_cpu_common.h).
#include <cstdint>
#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cpu_common.h"

namespace loom::kernels {
namespace {

using std::int64_t;
using namespace conv1d_cpu;

template <typename C>
void conv_fwd(const Conv1dGeometry& g, const C* x, const C* weight, const C* bias, C* y) {
  for (int64_t tp = 0; tp < g.out_T(); ++tp)
    for (int64_t b = 0; b < g.B; ++b)
      for (int64_t f = 0; f < g.F; ++f) {
        C acc = bias != nullptr ? bias[f] : C(0);
        for (int64_t k = 0; k < g.K; ++k) {
          const int64_t t = tp + k * g.dilation - g.pad_left;
          if (t < 0 || t >= g.T) continue;  // padding reads as zero
          for (int64_t c = 0; c < g.C; ++c) acc += weight[(f * g.K + k) * g.C + c] * x[(t * g.B + b) * g.C + c];
        }
        y[(tp * g.B + b) * g.F + f] = acc;
      }
}

template <typename C>
void conv_bwd(const Conv1dBwdArgs& a) {
  const Conv1dGeometry& g = a.g;
  const int64_t T = g.T, Tp = g.out_T(), B = g.B, Cin = g.C, F = g.F, K = g.K;
  const C* x = static_cast<const C*>(a.x);
  const C* weight = static_cast<const C*>(a.weight);
  const C* dy = static_cast<const C*>(a.dy);
  if (a.dx != nullptr)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < Cin; ++c) {
          C acc = 0;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t tp = t - (k * g.dilation - g.pad_left);  // the output that read x[t] through tap k
            if (tp < 0 || tp >= Tp) continue;
            for (int64_t f = 0; f < F; ++f) acc += dy[(tp * B + b) * F + f] * weight[(f * K + k) * Cin + c];
          }
          store(static_cast<C*>(a.dx)[(t * B + b) * Cin + c], acc, a.input_mode);
        }
  if (a.dweight != nullptr)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t c = 0; c < Cin; ++c) {
          C acc = 0;
          for (int64_t tp = 0; tp < Tp; ++tp) {
            const int64_t t = tp + k * g.dilation - g.pad_left;
            if (t < 0 || t >= T) continue;
            for (int64_t b = 0; b < B; ++b) acc += dy[(tp * B + b) * F + f] * x[(t * B + b) * Cin + c];
          }
          store(static_cast<C*>(a.dweight)[(f * K + k) * Cin + c], acc, a.param_mode);
        }
  if (a.dbias != nullptr)
    for (int64_t f = 0; f < F; ++f) {
      C acc = 0;
      for (int64_t r = 0; r < Tp * B; ++r) acc += dy[r * F + f];
      store(static_cast<C*>(a.dbias)[f], acc, a.param_mode);
    }
}

// The text-CNN block: each width's convolution (bias included) into a scratch, then the masked
// max over time per (b, f), then ReLU of the winner (max and ReLU commute).
template <typename C>
void textcnn_fwd(const TextCnnFwdArgs& a, const std::vector<int64_t>& len) {
  const int64_t B = a.B, SF = total_filters(a);
  C* pooled = static_cast<C*>(a.pooled);
  int64_t off = 0;
  for (int w = 0; w < a.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(a, w);
    std::vector<C> z(static_cast<std::size_t>(g.out_T() * B * g.F));
    conv_fwd<C>(g, static_cast<const C*>(a.x), static_cast<const C*>(a.widths[w].weight),
                static_cast<const C*>(a.widths[w].bias), z.data());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < g.F; ++f) {
        C best = 0;
        std::int32_t arg = -1;  // -1: the row has no complete window, and pools to 0
        for (int64_t tp = 0; tp < conv1d_output_length(g, len[static_cast<std::size_t>(b)]); ++tp) {
          const C v = z[static_cast<std::size_t>((tp * B + b) * g.F + f)];
          if (arg < 0 || beats(v, best)) best = v, arg = static_cast<std::int32_t>(tp);
        }
        pooled[b * SF + off + f] = best < C(0) ? C(0) : best;  // ReLU; NaN passes
        a.argmax[b * SF + off + f] = arg;
      }
    off += g.F;
  }
}

template <typename C>
void textcnn_bwd(const TextCnnBwdArgs& a) {
  const TextCnnFwdArgs& fa = a.fwd;
  const int64_t T = fa.T, B = fa.B, Cin = fa.C, SF = total_filters(fa);
  const C* x = static_cast<const C*>(fa.x);
  const C* pooled = static_cast<const C*>(fa.pooled);
  const C* dpooled = static_cast<const C*>(a.dpooled);
  std::vector<C> dx(static_cast<std::size_t>(T * B * Cin), C(0));
  int64_t off = 0;
  for (int w = 0; w < fa.num_widths; ++w) {
    const Conv1dGeometry g = width_geometry(fa, w);
    const C* weight = static_cast<const C*>(fa.widths[w].weight);
    std::vector<C> dw(static_cast<std::size_t>(g.F * g.K * Cin), C(0)), db(static_cast<std::size_t>(g.F), C(0));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < g.F; ++f) {
        const int64_t j = b * SF + off + f, t_star = fa.argmax[j];
        if (t_star < 0 || !(pooled[j] > C(0))) continue;  // no window, or ReLU was off
        const C gv = dpooled[j];
        db[static_cast<std::size_t>(f)] += gv;
        for (int64_t k = 0; k < g.K; ++k) {
          const int64_t t = t_star + k * g.dilation - g.pad_left;
          if (t < 0 || t >= T) continue;
          for (int64_t c = 0; c < Cin; ++c) {
            dw[static_cast<std::size_t>((f * g.K + k) * Cin + c)] += gv * x[(t * B + b) * Cin + c];
            dx[static_cast<std::size_t>((t * B + b) * Cin + c)] += gv * weight[(f * g.K + k) * Cin + c];
          }
        }
      }
    for (std::size_t i = 0; fa.widths[w].dweight != nullptr && i < dw.size(); ++i)
      store(static_cast<C*>(fa.widths[w].dweight)[i], dw[i], a.param_mode);
    for (std::size_t i = 0; fa.widths[w].dbias != nullptr && i < db.size(); ++i)
      store(static_cast<C*>(fa.widths[w].dbias)[i], db[i], a.param_mode);
    off += g.F;
  }
  for (std::size_t i = 0; a.dx != nullptr && i < dx.size(); ++i) store(static_cast<C*>(a.dx)[i], dx[i], a.input_mode);
}

}  // namespace

void conv1d_fwd_reference(const Conv1dFwdArgs& a) {
  check_geometry(a.g, a.dtype, "conv1d_fwd_reference");
  run_conv_fwd(a, [](const Conv1dFwdArgs& f, auto tag) {
    using C = decltype(tag);
    conv_fwd<C>(f.g, static_cast<const C*>(f.x), static_cast<const C*>(f.weight), static_cast<const C*>(f.bias),
                static_cast<C*>(f.y));
  });
}

void conv1d_bwd_reference(const Conv1dBwdArgs& a) {
  check_geometry(a.g, a.dtype, "conv1d_bwd_reference");
  run_conv_bwd(a, [](const Conv1dBwdArgs& f, auto tag) { conv_bwd<decltype(tag)>(f); });
}

void textcnn_fwd_reference(const TextCnnFwdArgs& a) {
  check_textcnn(a, "textcnn_fwd_reference");
  const std::vector<int64_t> len = row_lengths(a, "textcnn_fwd_reference");
  run_textcnn_fwd(a, [&](const TextCnnFwdArgs& f, auto tag) { textcnn_fwd<decltype(tag)>(f, len); });
}

void textcnn_bwd_reference(const TextCnnBwdArgs& a) {
  check_textcnn(a.fwd, "textcnn_bwd_reference");
  run_textcnn_bwd(a, [](const TextCnnBwdArgs& f, auto tag) { textcnn_bwd<decltype(tag)>(f); });
}

}  // namespace loom::kernels
