// tests/kernels/test_conv1d_cpu.cc: the CPU rows of the conv1d family's variant tables
// (kernels/conv1d/conv1d_variants.h: "reference", "cpu"), called directly through the tables.
//
// Layer 3 of the pyramid first: every CPU row of both tables == the naive reference, forward and
// every gradient, in every dtype, over valid / same / explicit padding, dilation 1 and 2, K in
// {1, 3, 4, 5}, B = 1, and C, F that are multiples of nothing. Layer 1: every gradient of every CPU
// row (the reference included) and of the fused text-CNN block against central differences in
// F64 (h = 1e-6, rtol 1e-6, atol 1e-8: the argument of tests/support/gradcheck.h). The fused block
// against the same computation composed from the other CPU kernels (conv -> ReLU -> masked global
// max, and back). Then F16 / BF16 storage against F32 on the rounded inputs, GradMode, the cost
// formulas, T' < 1, and the tables themselves.
//
// Every output and Overwrite gradient starts as NaN, so a slot the kernel forgets to write fails
// the comparison instead of passing by luck.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_variants.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/pool/pool.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/stored.h"
#include "tests/support/values.h"
#include "ops/conv1d.h"

using namespace loom;
using namespace loom::test;
using kernels::Conv1dGeometry;
using std::int64_t;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Pad { Valid, Same, Explicit };

// The CPU rows of a table (by name: the reference first, then every faster form).
template <class Row>
std::vector<std::string> cpu_rows(const std::vector<Row>& rows) {
  std::vector<std::string> names;
  for (const Row& r : rows)
    if (r.device == DeviceType::Cpu) names.push_back(r.name);
  return names;
}
std::vector<std::string> conv_cpu_rows() { return cpu_rows(kernels::conv1d_variants()); }
std::vector<std::string> textcnn_cpu_rows() { return cpu_rows(kernels::textcnn_variants()); }

Conv1dGeometry geometry(int64_t T, int64_t B, int64_t C, int64_t F, int64_t K, int64_t dil, Pad pad,
                        int64_t left = 0, int64_t right = 0) {
  Conv1dGeometry g;
  g.T = T, g.B = B, g.C = C, g.F = F, g.K = K, g.dilation = dil;
  if (pad == Pad::Same) kernels::conv1d_same_padding(K, dil, &g.pad_left, &g.pad_right);
  if (pad == Pad::Explicit) g.pad_left = left, g.pad_right = right;
  return g;
}

std::string describe(const Conv1dGeometry& g) {
  return "T=" + std::to_string(g.T) + " B=" + std::to_string(g.B) + " C=" + std::to_string(g.C) +
         " F=" + std::to_string(g.F) + " K=" + std::to_string(g.K) + " dil=" + std::to_string(g.dilation) +
         " pad=(" + std::to_string(g.pad_left) + "," + std::to_string(g.pad_right) + ")";
}

std::size_t n_x(const Conv1dGeometry& g) { return static_cast<std::size_t>(g.T * g.B * g.C); }
std::size_t n_w(const Conv1dGeometry& g) { return static_cast<std::size_t>(g.F * g.K * g.C); }
std::size_t n_y(const Conv1dGeometry& g) { return static_cast<std::size_t>(g.out_T() * g.B * g.F); }

struct ConvCase {
  Conv1dGeometry g;
  std::vector<double> x, weight, bias;  // bias empty: no bias (nullptr)
};

ConvCase random_case(const Conv1dGeometry& g, std::uint64_t seed, bool with_bias = true) {
  ConvCase c{g, random_values(static_cast<int64_t>(n_x(g)), seed, -1, 1),
             random_values(static_cast<int64_t>(n_w(g)), seed + 1, -1, 1), {}};
  if (with_bias) c.bias = random_values(g.F, seed + 2, -1, 1);
  return c;
}

std::vector<double> round_all(const std::vector<double>& v, DType t) {
  std::vector<double> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = round_to(static_cast<float>(v[k]), t);
  return out;
}

std::vector<double> conv_fwd(const ConvCase& c, DType t, const std::string& row) {
  Stored x(c.x, t), w(c.weight, t), b(c.bias, t), y(n_y(c.g), kNaN, t);
  kernels::Conv1dFwdArgs a;
  a.g = c.g, a.dtype = t;
  a.x = x.ptr(), a.weight = w.ptr(), a.bias = b.ptr(), a.y = y.ptr();
  kernels::conv1d_variant(row).forward(a, nullptr);
  return y.values();
}

struct ConvGrads {
  std::vector<double> dx, dweight, dbias;
};

struct BwdOptions {
  GradMode input_mode = GradMode::Overwrite, param_mode = GradMode::Overwrite;
  double prefill = kNaN;  // the gradient buffers' contents before backward
  bool dx = true, dweight = true, dbias = true;
};

ConvGrads conv_bwd(const ConvCase& c, const std::vector<double>& dy, DType t, const std::string& row,
                   const BwdOptions& o = {}) {
  Stored x(c.x, t), w(c.weight, t), dys(dy, t);
  Stored dx(o.dx ? n_x(c.g) : 0, o.prefill, t), dw(o.dweight ? n_w(c.g) : 0, o.prefill, t);
  Stored db(o.dbias ? static_cast<std::size_t>(c.g.F) : 0, o.prefill, t);
  kernels::Conv1dBwdArgs a;
  a.g = c.g, a.dtype = t;
  a.x = x.ptr(), a.weight = w.ptr(), a.dy = dys.ptr();
  a.dx = dx.ptr(), a.dweight = dw.ptr(), a.dbias = db.ptr();
  a.input_mode = o.input_mode, a.param_mode = o.param_mode;
  kernels::conv1d_variant(row).backward(a, nullptr, nullptr);
  return {dx.values(), dw.values(), db.values()};
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) s += a[k] * b[k];
  return s;
}

Tolerance gradcheck_tolerance() {
  const GradcheckOptions o;
  return {o.rtol, o.atol};
}

std::vector<double> plus(std::vector<double> a, const std::vector<double>& b) {
  for (std::size_t k = 0; k < a.size(); ++k) a[k] += b[k];
  return a;
}

std::vector<double> shifted(std::vector<double> v, double by) {
  for (double& e : v) e += by;
  return v;
}

// ---- the text-CNN block ----------------------------------------------------------------------------

struct WidthSpec {
  int64_t F, K, dil;
  Pad pad;
  int64_t left = 0, right = 0;
};

struct TextCnnCase {
  int64_t T = 7, B = 4, C = 3;
  std::vector<WidthSpec> widths;
  std::vector<std::int32_t> lengths;  // empty: every row is T long (nullptr)
  std::vector<double> x;
  std::vector<std::vector<double>> weight, bias;

  Conv1dGeometry geometry_of(std::size_t w) const {
    const WidthSpec& s = widths[w];
    return geometry(T, B, C, s.F, s.K, s.dil, s.pad, s.left, s.right);
  }
  int64_t SF() const {
    int64_t n = 0;
    for (const WidthSpec& s : widths) n += s.F;
    return n;
  }
  int64_t length(int64_t b) const { return lengths.empty() ? T : lengths[static_cast<std::size_t>(b)]; }
};

struct TextCnnOut {
  std::vector<double> pooled;
  std::vector<std::int32_t> argmax;
  std::vector<double> dx;
  std::vector<std::vector<double>> dweight, dbias;
};

// The fused forward, then (dpooled given) the fused backward on the forward's own pooled / argmax.
TextCnnOut run_textcnn(const TextCnnCase& c, DType t, const std::vector<double>* dpooled, const BwdOptions& o = {},
                       const std::string& row = "cpu") {
  const std::size_t nb = static_cast<std::size_t>(c.B * c.SF());
  Stored x(c.x, t), pooled(nb, kNaN, t);
  std::vector<Stored> params, grads;  // per width: weight bias | dweight dbias
  params.reserve(2 * c.widths.size()), grads.reserve(2 * c.widths.size());
  TextCnnOut out;
  out.argmax.assign(nb, -7);
  kernels::TextCnnFwdArgs a;
  a.T = c.T, a.B = c.B, a.C = c.C, a.dtype = t;
  a.num_widths = static_cast<int>(c.widths.size());
  a.x = x.ptr(), a.lengths = c.lengths.empty() ? nullptr : c.lengths.data();
  a.pooled = pooled.ptr(), a.argmax = out.argmax.data();
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const Conv1dGeometry g = c.geometry_of(w);
    kernels::TextCnnWidth& wd = a.widths[w];
    wd.F = g.F, wd.K = g.K, wd.dilation = g.dilation, wd.pad_left = g.pad_left, wd.pad_right = g.pad_right;
    params.emplace_back(c.weight[w], t), params.emplace_back(c.bias[w], t);
    wd.weight = params[2 * w].ptr(), wd.bias = params[2 * w + 1].ptr();
  }
  kernels::textcnn_variant(row).forward(a, nullptr);
  out.pooled = pooled.values();
  if (dpooled == nullptr) return out;

  kernels::TextCnnBwdArgs b;
  b.fwd = a;
  Stored dp(*dpooled, t), dx(o.dx ? n_x(c.geometry_of(0)) : 0, o.prefill, t);
  b.dpooled = dp.ptr(), b.dx = dx.ptr();
  b.input_mode = o.input_mode, b.param_mode = o.param_mode;
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const Conv1dGeometry g = c.geometry_of(w);
    grads.emplace_back(o.dweight ? n_w(g) : 0, o.prefill, t);
    grads.emplace_back(o.dbias ? static_cast<std::size_t>(g.F) : 0, o.prefill, t);
    b.fwd.widths[w].dweight = grads[2 * w].ptr(), b.fwd.widths[w].dbias = grads[2 * w + 1].ptr();
  }
  kernels::textcnn_variant(row).backward(b, nullptr, nullptr);
  out.dx = dx.values();
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    out.dweight.push_back(grads[2 * w].values());
    out.dbias.push_back(grads[2 * w + 1].values());
  }
  return out;
}

// Global max over the first out_len_b of Tp time steps of z [Tp, B, F] (the pool kernel).
void masked_max(const std::vector<double>& z, int64_t Tp, int64_t B, int64_t F, const std::vector<std::int32_t>& len,
                DType t, std::vector<double>* y, std::vector<std::int32_t>* argmax) {
  Stored zs(z, t), ys(static_cast<std::size_t>(B * F), kNaN, t);
  argmax->assign(static_cast<std::size_t>(B * F), -7);
  kernels::GlobalPoolFwdArgs p;
  p.T = Tp, p.B = B, p.C = F, p.dtype = t, p.op = kernels::TimeReduce::Max;
  p.x = zs.ptr(), p.lengths = len.data(), p.y = ys.ptr(), p.argmax = argmax->data();
  kernels::global_pool_fwd_cpu(p);
  *y = ys.values();
}

// The same block composed from the other CPU kernels: conv (with bias) -> ReLU -> masked global
// max, and back through each. argmax_pre receives the global max's argmax of the pre-ReLU conv.
TextCnnOut run_composed(const TextCnnCase& c, DType t, const std::vector<double>& dpooled,
                        std::vector<std::int32_t>* argmax_pre) {
  const int64_t SF = c.SF(), B = c.B;
  TextCnnOut out;
  out.pooled.assign(static_cast<std::size_t>(B * SF), kNaN);
  out.argmax.assign(static_cast<std::size_t>(B * SF), -7);
  argmax_pre->assign(static_cast<std::size_t>(B * SF), -7);
  out.dx.assign(static_cast<std::size_t>(c.T * B * c.C), 0.0);
  int64_t off = 0;
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const Conv1dGeometry g = c.geometry_of(w);
    const int64_t Tp = g.out_T(), F = g.F, n = Tp * B * F;
    const ConvCase cc{g, c.x, c.weight[w], c.bias[w]};
    const std::vector<double> z = conv_fwd(cc, t, "cpu");
    Stored zs(z, t), r(static_cast<std::size_t>(n), kNaN, t);
    kernels::UnaryFwdArgs u;
    u.n = n, u.dtype = t, u.op = kernels::UnaryOp::Relu, u.x = zs.ptr(), u.y = r.ptr();
    kernels::unary_fwd_cpu(u);
    std::vector<std::int32_t> out_len(static_cast<std::size_t>(B));
    for (int64_t b = 0; b < B; ++b)
      out_len[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(kernels::conv1d_output_length(g, c.length(b)));
    std::vector<double> pooled, pre_max;
    std::vector<std::int32_t> arg, arg_pre;
    masked_max(r.values(), Tp, B, F, out_len, t, &pooled, &arg);
    masked_max(z, Tp, B, F, out_len, t, &pre_max, &arg_pre);
    std::vector<double> dp(static_cast<std::size_t>(B * F));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < F; ++f) {
        const std::size_t i = static_cast<std::size_t>(b * SF + off + f), j = static_cast<std::size_t>(b * F + f);
        out.pooled[i] = pooled[j], out.argmax[i] = arg[j], (*argmax_pre)[i] = arg_pre[j];
        dp[j] = dpooled[i];
      }
    // Backward: global max -> ReLU -> conv.
    Stored dps(dp, t), dr(static_cast<std::size_t>(n), kNaN, t), dz(static_cast<std::size_t>(n), kNaN, t);
    kernels::GlobalPoolBwdArgs gb;
    gb.T = Tp, gb.B = B, gb.C = F, gb.dtype = t, gb.op = kernels::TimeReduce::Max;
    gb.lengths = out_len.data(), gb.argmax = arg.data(), gb.dy = dps.ptr(), gb.dx = dr.ptr();
    kernels::global_pool_bwd_cpu(gb);
    kernels::UnaryBwdArgs ub;
    ub.n = n, ub.dtype = t, ub.op = kernels::UnaryOp::Relu, ub.y = r.ptr(), ub.dy = dr.ptr(), ub.dx = dz.ptr();
    kernels::unary_bwd_cpu(ub);
    const ConvGrads gr = conv_bwd(cc, dz.values(), t, "cpu");
    out.dx = plus(out.dx, gr.dx);
    out.dweight.push_back(gr.dweight), out.dbias.push_back(gr.dbias);
    off += F;
  }
  return out;
}

// Three widths in one call (valid, same, explicit with dilation 2), ragged lengths including 0,
// and x nonzero in the padding (the block reads x as stored, like the plain conv). Filter 2 of
// width 1 gets bias -20: its pre-activations stay below -20 + K C = -11, so ReLU is off everywhere.
TextCnnCase textcnn_case(std::uint64_t seed) {
  TextCnnCase c;
  c.widths = {{3, 2, 1, Pad::Valid}, {4, 3, 1, Pad::Same}, {2, 2, 2, Pad::Explicit, 1, 2}};
  c.lengths = {7, 4, 1, 0};
  c.x = random_values(c.T * c.B * c.C, seed, -1, 1);
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const Conv1dGeometry g = c.geometry_of(w);
    c.weight.push_back(random_values(static_cast<int64_t>(n_w(g)), seed * 8 + 2 * w + 1, -1, 1));
    c.bias.push_back(random_values(g.F, seed * 8 + 2 * w + 2, -0.5, 0.5));
  }
  c.bias[1][2] = -20;
  return c;
}

// True when every masked max is > 1e-3 above the runner-up and > 1e-3 away from 0, so a 1e-6
// perturbation moves neither the argmax nor the ReLU decision: the block is differentiable there.
bool well_separated(const TextCnnCase& c) {
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    const Conv1dGeometry g = c.geometry_of(w);
    const std::vector<double> z = conv_fwd({g, c.x, c.weight[w], c.bias[w]}, DType::F64, "reference");
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t f = 0; f < g.F; ++f) {
        std::vector<double> v;
        for (int64_t tp = 0; tp < kernels::conv1d_output_length(g, c.length(b)); ++tp)
          v.push_back(z[static_cast<std::size_t>((tp * g.B + b) * g.F + f)]);
        std::sort(v.rbegin(), v.rend());
        if (!v.empty() && std::fabs(v[0]) <= 1e-3) return false;
        if (v.size() > 1 && v[0] - v[1] <= 1e-3) return false;
      }
  }
  return true;
}

TextCnnCase separated_textcnn_case(std::uint64_t first_seed) {
  for (std::uint64_t s = first_seed; s < first_seed + 200; ++s) {
    const TextCnnCase c = textcnn_case(s);
    if (well_separated(c)) return c;
  }
  FAIL("no seed gave well-separated maxima");
  return textcnn_case(first_seed);
}

TextCnnCase rounded(TextCnnCase c, DType t) {
  c.x = round_all(c.x, t);
  for (auto& v : c.weight) v = round_all(v, t);
  for (auto& v : c.bias) v = round_all(v, t);
  return c;
}

// The grid of geometries on which every row must agree with the reference.
std::vector<Conv1dGeometry> geometry_grid() {
  std::vector<Conv1dGeometry> grid;
  for (int64_t B : {3, 1})
    for (int64_t K : {1, 3, 4, 5})
      for (int64_t dil : {1, 2}) {
        grid.push_back(geometry(9, B, 5, 7, K, dil, Pad::Valid));
        grid.push_back(geometry(9, B, 5, 7, K, dil, Pad::Same));
        grid.push_back(geometry(9, B, 5, 7, K, dil, Pad::Explicit, 2, 1));
        grid.push_back(geometry(9, B, 5, 7, K, dil, Pad::Explicit, 0, 3));
        grid.push_back(geometry(6, B, 5, 7, K, dil, Pad::Explicit, 6, 5));  // taps that read only padding
      }
  grid.push_back(geometry(2, 2, 5, 7, 5, 1, Pad::Same));  // T < K: taps 0 and 4 never reach x
  return grid;
}

}  // namespace

TEST_CASE("conv1d cpu: every CPU row == the reference, forward and every gradient, every dtype") {
  for (const std::string& row : conv_cpu_rows()) {
    if (row == "reference") continue;
    std::uint64_t seed = 100;
    for (const Conv1dGeometry& g : geometry_grid()) {
      for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
        INFO(row, " ", describe(g), " ", dtype_name(t));
        const ConvCase c = random_case(g, seed, seed % 2 == 0);  // every other case without bias
        const std::vector<double> dy = random_values(static_cast<int64_t>(n_y(g)), seed + 5, -1, 1);
        check_close(conv_fwd(c, t, row), conv_fwd(c, t, "reference"), t, "y");
        const ConvGrads got = conv_bwd(c, dy, t, row), want = conv_bwd(c, dy, t, "reference");
        check_close(got.dx, want.dx, t, "dx");
        check_close(got.dweight, want.dweight, t, "dweight");
        check_close(got.dbias, want.dbias, t, "dbias");
        ++seed;
      }
    }
  }
}

TEST_CASE("conv1d cpu: every CPU text-CNN row == the reference, every dtype") {
  for (const std::string& row : textcnn_cpu_rows()) {
    if (row == "reference") continue;
    for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
      INFO(row, " ", dtype_name(t));
      const TextCnnCase c = separated_textcnn_case(650);
      const std::vector<double> dp = random_values(c.B * c.SF(), 31, -1, 1);
      const TextCnnOut got = run_textcnn(c, t, &dp, {}, row), want = run_textcnn(c, t, &dp, {}, "reference");
      check_close(got.pooled, want.pooled, t, "pooled");
      check_equal(got.argmax, want.argmax, "argmax");
      check_close(got.dx, want.dx, t, "dx");
      for (std::size_t w = 0; w < c.widths.size(); ++w) {
        INFO("width ", w);
        check_close(got.dweight[w], want.dweight[w], t, "dweight");
        check_close(got.dbias[w], want.dbias[w], t, "dbias");
      }
    }
  }
}

TEST_CASE("conv1d cpu: F64 finite differences of every CPU row, the reference first") {
  const Conv1dGeometry cases[] = {geometry(6, 2, 3, 4, 3, 1, Pad::Valid), geometry(6, 2, 3, 4, 4, 2, Pad::Same),
                                  geometry(5, 1, 3, 2, 2, 3, Pad::Explicit, 3, 1)};
  for (const std::string& row : conv_cpu_rows()) {
    std::uint64_t seed = 300;
    for (const Conv1dGeometry& g : cases) {
      INFO(row, " ", describe(g));
      ConvCase c = random_case(g, seed);
      const std::vector<double> w = random_values(static_cast<int64_t>(n_y(g)), seed + 7, -1, 1);
      const ConvGrads analytic = conv_bwd(c, w, DType::F64, row);
      auto loss = [&] { return dot(conv_fwd(c, DType::F64, row), w); };
      check_close(analytic.dx, numeric_grad(c.x, loss), gradcheck_tolerance(), "dx");
      check_close(analytic.dweight, numeric_grad(c.weight, loss), gradcheck_tolerance(), "dweight");
      check_close(analytic.dbias, numeric_grad(c.bias, loss), gradcheck_tolerance(), "dbias");
      seed += 10;
    }
  }
}

TEST_CASE("conv1d cpu: GradMode and absent gradients") {
  const Conv1dGeometry g = geometry(8, 3, 5, 7, 3, 2, Pad::Same);
  const ConvCase c = random_case(g, 400);
  const std::vector<double> dy = random_values(static_cast<int64_t>(n_y(g)), 401, -1, 1);
  for (const std::string& form : conv_cpu_rows()) {
    INFO(form);
    const ConvGrads fresh = conv_bwd(c, dy, DType::F64, form);
    BwdOptions acc;
    acc.param_mode = GradMode::Accumulate, acc.prefill = 0.375;  // dx still overwrites its prefill
    const ConvGrads params = conv_bwd(c, dy, DType::F64, form, acc);
    check_close(params.dx, fresh.dx, DType::F64, "dx (Overwrite over 0.375)");
    check_close(params.dweight, shifted(fresh.dweight, 0.375), DType::F64, "dweight (Accumulate)");
    check_close(params.dbias, shifted(fresh.dbias, 0.375), DType::F64, "dbias (Accumulate)");
    acc.input_mode = GradMode::Accumulate;
    check_close(conv_bwd(c, dy, DType::F64, form, acc).dx, shifted(fresh.dx, 0.375), DType::F64, "dx (Accumulate)");
    BwdOptions only_dweight;
    only_dweight.dx = false, only_dweight.dbias = false;
    const ConvGrads part = conv_bwd(c, dy, DType::F64, form, only_dweight);
    CHECK(part.dx.empty());
    check_close(part.dweight, fresh.dweight, DType::F64, "dweight alone");
  }
}

TEST_CASE("conv1d cpu: text-CNN block F64 finite differences, every CPU row") {
  for (const std::string& row : textcnn_cpu_rows()) {
  INFO(row);
  TextCnnCase c = separated_textcnn_case(500);
  const std::vector<double> wts = random_values(c.B * c.SF(), 17, -1, 1);
  const TextCnnOut r = run_textcnn(c, DType::F64, &wts, {}, row);
  // The case must exercise every path: ReLU on, ReLU off with a window, and no window at all.
  int active = 0, inactive = 0, empty = 0;
  for (std::size_t i = 0; i < r.pooled.size(); ++i) {
    if (r.argmax[i] < 0) {
      ++empty;
      CHECK(r.pooled[i] == 0.0);
    } else if (r.pooled[i] > 0) {
      ++active;
    } else {
      ++inactive;
    }
  }
  CHECK(active > 0);
  CHECK(inactive >= c.B - 1);  // filter 2 of width 1, in every row that has a window
  CHECK(empty > 0);
  auto loss = [&] { return dot(run_textcnn(c, DType::F64, nullptr, {}, row).pooled, wts); };
  check_close(r.dx, numeric_grad(c.x, loss), gradcheck_tolerance(), "dx");
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    INFO("width ", w);
    check_close(r.dweight[w], numeric_grad(c.weight[w], loss), gradcheck_tolerance(), "dweight");
    check_close(r.dbias[w], numeric_grad(c.bias[w], loss), gradcheck_tolerance(), "dbias");
  }
}
}

TEST_CASE("conv1d cpu: fused text-CNN block == conv + bias + ReLU + masked max composed") {
  for (DType t : {DType::F64, DType::F32}) {
    INFO(dtype_name(t));
    const TextCnnCase c = separated_textcnn_case(600);
    const std::vector<double> dp = random_values(c.B * c.SF(), 19, -1, 1);
    std::vector<std::int32_t> argmax_pre;
    const TextCnnOut fused = run_textcnn(c, t, &dp), composed = run_composed(c, t, dp, &argmax_pre);
    check_close(fused.pooled, composed.pooled, t, "pooled");
    // The fused argmax is the pre-ReLU winner everywhere; composed ReLU-then-max agrees wherever
    // the winner is positive (below zero every ReLU output ties at 0 and the first one wins).
    check_equal(fused.argmax, argmax_pre, "argmax == masked max of the pre-ReLU conv");
    std::vector<std::int32_t> fused_pos, composed_pos;
    for (std::size_t i = 0; i < fused.argmax.size(); ++i)
      if (fused.pooled[i] > 0) fused_pos.push_back(fused.argmax[i]), composed_pos.push_back(composed.argmax[i]);
    CHECK(!fused_pos.empty());
    check_equal(fused_pos, composed_pos, "argmax where ReLU is on");
    check_close(fused.dx, composed.dx, t, "dx");
    for (std::size_t w = 0; w < c.widths.size(); ++w) {
      INFO("width ", w);
      check_close(fused.dweight[w], composed.dweight[w], t, "dweight");
      check_close(fused.dbias[w], composed.dbias[w], t, "dbias");
    }
  }
}

TEST_CASE("conv1d cpu: text-CNN ties go to the first position") {
  TextCnnCase c = textcnn_case(42);
  const Conv1dGeometry g = c.geometry_of(0);
  // Filter 0 of width 0 with zero weights: its pre-activation is its bias at every position.
  std::fill_n(c.weight[0].begin(), g.K * g.C, 0.0);
  c.bias[0][0] = 0.3;
  for (const std::string& row : textcnn_cpu_rows())
  for (int64_t b = 0; b < c.B; ++b) {
    const TextCnnOut r = run_textcnn(c, DType::F64, nullptr, {}, row);
    INFO(row, ", row ", b);
    const std::size_t i = static_cast<std::size_t>(b * c.SF());
    const bool has_window = kernels::conv1d_output_length(g, c.length(b)) > 0;
    CHECK(r.argmax[i] == (has_window ? 0 : -1));
    CHECK(r.pooled[i] == (has_window ? 0.3 : 0.0));
  }
}

TEST_CASE("conv1d cpu: text-CNN block GradMode and all rows full length") {
  TextCnnCase c = separated_textcnn_case(700);
  const std::vector<double> dp = random_values(c.B * c.SF(), 23, -1, 1);
  const TextCnnOut fresh = run_textcnn(c, DType::F64, &dp);
  BwdOptions acc;
  acc.input_mode = acc.param_mode = GradMode::Accumulate, acc.prefill = -0.625;
  const TextCnnOut added = run_textcnn(c, DType::F64, &dp, acc);
  check_close(added.dx, shifted(fresh.dx, -0.625), DType::F64, "dx (Accumulate)");
  for (std::size_t w = 0; w < c.widths.size(); ++w) {
    check_close(added.dweight[w], shifted(fresh.dweight[w], -0.625), DType::F64, "dweight (Accumulate)");
    check_close(added.dbias[w], shifted(fresh.dbias[w], -0.625), DType::F64, "dbias (Accumulate)");
  }
  // lengths == nullptr means every row is T long: the same as passing T for every row.
  TextCnnCase full = c;
  full.lengths.clear();
  c.lengths.assign(static_cast<std::size_t>(c.B), static_cast<std::int32_t>(c.T));
  const TextCnnOut a = run_textcnn(full, DType::F64, &dp), b = run_textcnn(c, DType::F64, &dp);
  check_close(a.pooled, b.pooled, DType::F64, "pooled without lengths");
  check_equal(a.argmax, b.argmax, "argmax without lengths");
  check_close(a.dx, b.dx, DType::F64, "dx without lengths");
}

TEST_CASE("conv1d cpu: F16 and BF16 storage match F32 on the rounded inputs") {
  const Conv1dGeometry g = geometry(9, 3, 5, 7, 3, 2, Pad::Same);
  const ConvCase c = random_case(g, 800);
  const std::vector<double> dy = random_values(static_cast<int64_t>(n_y(g)), 801, -1, 1);
  const TextCnnCase tc = separated_textcnn_case(900);
  const std::vector<double> dp = random_values(tc.B * tc.SF(), 29, -1, 1);
  for (DType t : {DType::F16, DType::BF16}) {
    INFO(dtype_name(t));
    const ConvCase r{g, round_all(c.x, t), round_all(c.weight, t), round_all(c.bias, t)};
    const std::vector<double> dy_r = round_all(dy, t);
    for (const std::string& form : conv_cpu_rows()) {
      INFO(form);
      check_close(conv_fwd(c, t, form), conv_fwd(r, DType::F32, form), t, "y");
      const ConvGrads half = conv_bwd(c, dy, t, form), ref = conv_bwd(r, dy_r, DType::F32, form);
      check_close(half.dx, ref.dx, t, "dx");
      check_close(half.dweight, ref.dweight, t, "dweight");
      check_close(half.dbias, ref.dbias, t, "dbias");
      BwdOptions acc;
      acc.input_mode = acc.param_mode = GradMode::Accumulate, acc.prefill = 0.5;  // exact in both types
      const ConvGrads added = conv_bwd(c, dy, t, form, acc);
      check_close(added.dx, shifted(ref.dx, 0.5), t, "dx (Accumulate)");
      check_close(added.dweight, shifted(ref.dweight, 0.5), t, "dweight (Accumulate)");
    }
    const std::vector<double> dp_r = round_all(dp, t);
    const TextCnnOut half = run_textcnn(tc, t, &dp), ref = run_textcnn(rounded(tc, t), DType::F32, &dp_r);
    check_close(half.pooled, ref.pooled, t, "text-CNN pooled");
    check_equal(half.argmax, ref.argmax, "text-CNN argmax");
    check_close(half.dx, ref.dx, t, "text-CNN dx");
    for (std::size_t w = 0; w < tc.widths.size(); ++w) {
      check_close(half.dweight[w], ref.dweight[w], t, "text-CNN dweight");
      check_close(half.dbias[w], ref.dbias[w], t, "text-CNN dbias");
    }
  }
}

// BF16 (the mixed-precision path: bf16 GEMM operands, F32 accumulators, one rounding per output;
// kernels/conv1d/conv1d_cpu.cc "Precision") against float64 on the same bf16 values, with a
// tolerance derived per element from where rounding happens:
//   S = the same sum over absolute values (the reference run on |x|, |w|, |b|, |dy|). Each product
//   of two bf16 values is exact in F32; n F32 additions in any order are off by at most n u S with
//   u = 2^-24, n <= K C + 1 (y), K F (dx), T' B + 1 (dweight, dbias, + 1 for Accumulate's old value);
//   then one rounding to bf16: + 2^-8 (|ref| + that), bf16 keeping 8 significand bits.
// The shape is big enough that every GEMM has work for oneDNN's blocked kernels (K C = 144, T' B =
// 160) and small enough for a fast test.
namespace {

std::vector<double> abs_all(std::vector<double> v) {
  for (double& e : v) e = std::fabs(e);
  return v;
}

void check_bf16_derived(const std::vector<double>& got, const std::vector<double>& ref, const std::vector<double>& S,
                        double n_adds, const char* what) {
  REQUIRE(got.size() == ref.size());
  const double u32 = 1.0 / 16777216.0, u16 = 1.0 / 256.0;
  int bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double acc = n_adds * u32 * S[i];
    const double tol = acc + u16 * (std::fabs(ref[i]) + acc);
    const double err = std::fabs(got[i] - ref[i]);
    if (!(err <= tol)) ++bad;  // NaN fails
    if (tol > 0) worst = std::max(worst, err / tol);
  }
  INFO(std::string(what) << ": worst error / tolerance " << worst);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("conv1d cpu: BF16 forward and backward vs F64 on the bf16 values, derived tolerance") {
  const DType t = DType::BF16;
  for (const Conv1dGeometry& g : {geometry(20, 8, 48, 40, 3, 1, Pad::Same), geometry(17, 6, 33, 29, 4, 2, Pad::Valid)}) {
    INFO(describe(g));
    const ConvCase c = random_case(g, 1200);
    const ConvCase r{g, round_all(c.x, t), round_all(c.weight, t), round_all(c.bias, t)};
    const ConvCase a{g, abs_all(r.x), abs_all(r.weight), abs_all(r.bias)};
    const std::vector<double> dy = round_all(random_values(static_cast<int64_t>(n_y(g)), 1201, -1, 1), t);
    const double TpB = static_cast<double>(g.out_T() * g.B);
    check_bf16_derived(conv_fwd(c, t, "cpu"), conv_fwd(r, DType::F64, "reference"),
                       conv_fwd(a, DType::F64, "reference"), static_cast<double>(g.K * g.C + 1), "y");
    for (GradMode mode : {GradMode::Overwrite, GradMode::Accumulate}) {
      BwdOptions o;
      o.input_mode = o.param_mode = mode;
      o.prefill = mode == GradMode::Accumulate ? 0.5 : kNaN;  // 0.5 is exact in bf16
      const double old = mode == GradMode::Accumulate ? 0.5 : 0.0, extra = mode == GradMode::Accumulate ? 1 : 0;
      const ConvGrads got = conv_bwd(c, dy, t, "cpu", o), ref = conv_bwd(r, dy, DType::F64, "reference");
      const ConvGrads S = conv_bwd(a, abs_all(dy), DType::F64, "reference");
      check_bf16_derived(got.dx, shifted(ref.dx, old), shifted(S.dx, old), static_cast<double>(g.K * g.F) + extra,
                         "dx");
      check_bf16_derived(got.dweight, shifted(ref.dweight, old), shifted(S.dweight, old), TpB + extra, "dweight");
      check_bf16_derived(got.dbias, shifted(ref.dbias, old), shifted(S.dbias, old), TpB + extra, "dbias");
    }
  }
}

TEST_CASE("conv1d cpu: cost formulas against a hand count") {
  std::int32_t dummy = 0;  // cost() reads only shapes and which pointers are set
  kernels::Conv1dFwdArgs f;
  f.g = geometry(10, 2, 3, 4, 3, 1, Pad::Valid);  // T' = 8
  f.bias = &dummy;
  // 2 T' B F K C = 2*8*2*4*3*3; bytes 4 (x 60 + weight 36 + bias 4 + y 64).
  CHECK(kernels::conv1d_fwd_cost(f).flops == 1152);
  CHECK(kernels::conv1d_fwd_cost(f).bytes == 656);
  f.g = geometry(10, 2, 3, 4, 3, 1, Pad::Same), f.dtype = DType::F16;  // T' = 10
  CHECK(kernels::conv1d_fwd_cost(f).flops == 1440);
  CHECK(kernels::conv1d_fwd_cost(f).bytes == 2 * (60 + 36 + 4 + 80));

  kernels::Conv1dBwdArgs b;
  b.g = geometry(10, 2, 3, 4, 3, 1, Pad::Valid);
  b.dx = b.dweight = b.dbias = &dummy;
  // dx 1152 + dweight 1152 + dbias T'BF = 64; bytes 4 (dy 64 + x 60 + w 36 + dx 60 + dw 36 + db 4).
  CHECK(kernels::conv1d_bwd_cost(b).flops == 2368);
  CHECK(kernels::conv1d_bwd_cost(b).bytes == 1040);
  b.param_mode = GradMode::Accumulate;  // dweight and dbias are read too: + 4 (36 + 4)
  CHECK(kernels::conv1d_bwd_cost(b).bytes == 1200);
  b.dweight = b.dbias = nullptr;  // dx alone: 1152 flops; bytes 4 (dy 64 + w 36 + dx 60)
  CHECK(kernels::conv1d_bwd_cost(b).flops == 1152);
  CHECK(kernels::conv1d_bwd_cost(b).bytes == 640);

  kernels::TextCnnFwdArgs t;
  t.T = 10, t.B = 2, t.C = 3, t.num_widths = 2, t.lengths = &dummy;
  t.widths[0].F = 4, t.widths[0].K = 3, t.widths[0].bias = &dummy;                          // T' = 8
  t.widths[1].F = 2, t.widths[1].K = 2, t.widths[1].pad_right = 1, t.widths[1].bias = &dummy;  // T' = 10
  // 2 T' B F (K C + 1): 2*8*2*4*10 + 2*10*2*2*7 = 1280 + 560.
  CHECK(kernels::textcnn_fwd_cost(t).flops == 1840);
  // 4 (x 60 + pooled 12) + argmax 4*12 + lengths 4*2 + 4 (4*(9+1) + 2*(6+1)).
  CHECK(kernels::textcnn_fwd_cost(t).bytes == 288 + 48 + 8 + 216);
  kernels::TextCnnBwdArgs tb;
  tb.fwd = t;
  tb.dx = &dummy;
  for (int w = 0; w < 2; ++w) tb.fwd.widths[w].dweight = tb.fwd.widths[w].dbias = &dummy;
  // width 0: 2*2*4*9 dx + 2*2*4*9 dweight + 2*4 dbias = 296; width 1: 48 + 48 + 4 = 100.
  CHECK(kernels::textcnn_bwd_cost(tb).flops == 396);
  // 4*2*12 pooled+dpooled + 4*12 argmax + dx 4*60 + x 4*60 + width 0: 4 (36 + 36 + 4) + width 1: 4 (12 + 12 + 2).
  CHECK(kernels::textcnn_bwd_cost(tb).bytes == 96 + 48 + 240 + 240 + 304 + 104);
}

TEST_CASE("conv1d cpu: T' < 1 is a ShapeError naming T, K, dilation and padding") {
  const Conv1dGeometry g = geometry(2, 1, 3, 4, 3, 1, Pad::Valid);  // T = 2 < K = 3
  std::vector<double> x(12, 0.5), w(36, 0.5), y(8, 0.0);
  kernels::Conv1dFwdArgs f;
  f.g = g, f.dtype = DType::F64, f.x = x.data(), f.weight = w.data(), f.y = y.data();
  CHECK_SHAPE_ERROR([&] { kernels::conv1d_fwd_cpu(f); }, "conv1d_fwd_cpu", "T = 2", "K = 3", "dilation = 1",
                    "padding = (0, 0)");
  CHECK_SHAPE_ERROR([&] { kernels::conv1d_fwd_reference(f); }, "conv1d_fwd_reference", "T = 2", "K = 3");
  kernels::Conv1dBwdArgs b;
  b.g = g, b.dtype = DType::F64, b.x = x.data(), b.weight = w.data(), b.dy = y.data(), b.dx = x.data();
  CHECK_SHAPE_ERROR([&] { kernels::conv1d_bwd_cpu(b); }, "conv1d_bwd_cpu", "T = 2", "K = 3");
  CHECK_SHAPE_ERROR([&] { kernels::conv1d_bwd_reference(b); }, "conv1d_bwd_reference", "T = 2", "K = 3");
  f.g = geometry(4, 1, 3, 4, 3, 2, Pad::Valid);  // dilation 2 spans 5 > T = 4
  CHECK_SHAPE_ERROR([&] { kernels::conv1d_fwd_cpu(f); }, "T = 4", "K = 3", "dilation = 2");
  kernels::TextCnnFwdArgs t;
  std::vector<std::int32_t> argmax(4);
  t.T = 2, t.B = 1, t.C = 3, t.dtype = DType::F64, t.x = x.data(), t.pooled = y.data(), t.argmax = argmax.data();
  t.widths[0].F = 4, t.widths[0].K = 3, t.widths[0].weight = w.data();
  CHECK_SHAPE_ERROR([&] { kernels::textcnn_fwd_cpu(t); }, "textcnn_fwd_cpu", "width 0", "T = 2", "K = 3");
  CHECK_SHAPE_ERROR([&] { kernels::textcnn_fwd_reference(t); }, "textcnn_fwd_reference", "width 0", "T = 2", "K = 3");
  // With same padding T < K is fine: T' = T.
  f.g = geometry(2, 1, 3, 4, 3, 1, Pad::Same);
  kernels::conv1d_fwd_cpu(f);
  CHECK(y[0] == doctest::Approx(0.25 * 6));  // t' = 0 reads x[0], x[1] (taps 1, 2): 6 products of 0.25
  // Lengths outside [0, T] are named.
  const std::int32_t bad[1] = {3};
  t.widths[0].pad_left = t.widths[0].pad_right = 1, t.lengths = bad;
  CHECK_SHAPE_ERROR([&] { kernels::textcnn_fwd_cpu(t); }, "textcnn_fwd_cpu", "lengths[0] = 3");
  CHECK_SHAPE_ERROR([&] { kernels::textcnn_fwd_reference(t); }, "textcnn_fwd_reference", "lengths[0] = 3");
}

TEST_CASE("conv1d cpu: the variant tables") {
  // The reference and the CPU training path are in every build, reference first; CUDA rows are named
  // after ops::Conv1dVariant (rows of a backend this build lacks are absent, never null).
  const std::vector<std::string> conv = conv_cpu_rows(), textcnn = textcnn_cpu_rows();
  CHECK(conv == std::vector<std::string>{"reference", "cpu"});
  CHECK(textcnn == std::vector<std::string>{"reference", "cpu"});
  CHECK(std::string(ops::conv1d_variant_name(ops::Conv1dVariant::Direct)) == "cuda-v1");
  CHECK(std::string(ops::conv1d_variant_name(ops::Conv1dVariant::ImplicitGemm)) == "cuda-v2");
  CHECK(std::string(ops::conv1d_variant_name(ops::Conv1dVariant::Fused)) == "cuda-v3");
  for (const auto& r : kernels::conv1d_variants()) {
    INFO(r.name);
    const bool complete = r.forward != nullptr && r.backward != nullptr;
    CHECK(complete);
    const std::string name = r.name;
    CHECK((name == "reference" || name == "cpu" || name == "cuda-v1" || name == "cuda-v2" || name == "cudnn"));
  }
  for (const auto& r : kernels::textcnn_variants()) {
    const std::string name = r.name;
    CHECK((name == "reference" || name == "cpu" || name == "cuda-v3"));
  }
  CHECK_THROWS_WITH_AS(kernels::conv1d_variant("v9"), doctest::Contains("reference, cpu"), Error);
  CHECK_THROWS_WITH_AS(kernels::textcnn_variant("cuda-v1"), doctest::Contains("reference, cpu"), Error);
}
