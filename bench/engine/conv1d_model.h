// bench/engine/conv1d_model.h: what conv1d.cc runs and how it checks it (included by that
// file only; split off to keep each file readable). The points, the work they do (from the
// kernels' cost formulas), the tensors (F32 master values, instantiated per dtype and device), one
// step of each implementation, and the validation against the CPU F32 reference described in
// conv1d.cc's opening comment.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "bench/common/run.h"
#include "bench/engine/engine.h"
#include "ops/autograd.h"
#include "core/error.h"
#include "ops/conv1d.h"
#include "ops/elementwise.h"
#include "ops/pool.h"
#include "ops/shape_ops.h"
#include "ops/tensor.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_variants.h"

namespace loom::bench {

using ops::Conv1dVariant;

// A plain conv has one width; a block has several (Kim's 3, 4, 5), each with F filters. Valid
// padding and full-length rows throughout, as in the grid.
struct ConvShape {
  std::int64_t T = 50, B = 64, C = 128, F = 100;
  std::vector<std::int64_t> widths{3};
  bool block = false;
};

enum class Path {
  Conv,      // ops::conv1d alone
  Fused,     // ops::textcnn: the fused block node
  Composed,  // conv1d -> relu -> global_max_pool per width, concat_last
};

// One row of the kernel family's variant tables (kernels/conv1d/conv1d_variants.h), run through
// the ops with the Impl and Conv1dVariant that select it.
struct ImplCase {
  Impl impl;              // Cpu | Cuda | Cudnn
  Conv1dVariant variant;  // which row of impl: Reference or not on the CPU, Direct / ImplicitGemm / Fused on CUDA
  Path path;
  std::string row;        // the table row's name: "reference", "cpu", "cuda-v1", "cuda-v2", "cuda-v3", "cudnn"
  std::string variant_name() const {
    switch (path) {
      case Path::Conv: return row;
      case Path::Fused: return "fused/" + row;
      case Path::Composed: return "composed+" + row;
    }
    return "";
  }
};

// The ImplCase that runs table row `row` on `path`; false for a row the ops cannot select.
inline bool impl_case_of(const std::string& row, Path path, ImplCase* out) {
  if (row == "reference") *out = {Impl::Cpu, Conv1dVariant::Reference, path, row};
  else if (row == "cpu") *out = {Impl::Cpu, Conv1dVariant::ImplicitGemm, path, row};
  else if (row == "cuda-v1") *out = {Impl::Cuda, Conv1dVariant::Direct, path, row};
  else if (row == "cuda-v2") *out = {Impl::Cuda, Conv1dVariant::ImplicitGemm, path, row};
  else if (row == "cuda-v3") *out = {Impl::Cuda, Conv1dVariant::Fused, path, row};
  else if (row == "cudnn") *out = {Impl::Cudnn, Conv1dVariant::ImplicitGemm, path, row};
  else return false;
  return true;
}

inline kernels::Conv1dGeometry geometry(const ConvShape& s, std::int64_t B, std::int64_t K) {
  kernels::Conv1dGeometry g;
  g.T = s.T, g.B = B, g.C = s.C, g.F = s.F, g.K = K;
  return g;
}

// ---- work: flops and bytes from the kernels' cost() formulas ------------------------------------

struct Work {
  double gflop = 0;
  double bytes = 0;  // minimum traffic, for the GPU roofline
};

// Plain conv: conv1d_fwd_cost (+ conv1d_bwd_cost with dx, dweight and dbias, as torch computes).
// Block: textcnn_fwd_cost (+ textcnn_bwd_cost, the sparse backward: the useful work. A dense
// backward (composed ops, torch) multiplies the zeros of the max pool's gradient too; it gets no
// credit for them, so its TFLOP/s reads low, which is the point of the fused block.)
inline Work work_of(const ConvShape& s, DType dtype, bool training) {
  static char present;  // cost() only asks which optional buffers exist
  Work w;
  kernels::Cost f, b;
  if (!s.block) {
    kernels::Conv1dFwdArgs a;
    a.g = geometry(s, s.B, s.widths[0]);
    a.dtype = dtype;
    a.bias = &present;
    f = kernels::conv1d_fwd_cost(a);
    kernels::Conv1dBwdArgs g;
    g.g = a.g;
    g.dtype = dtype;
    g.dx = g.dweight = g.dbias = &present;
    if (training) b = kernels::conv1d_bwd_cost(g);
  } else {
    kernels::TextCnnBwdArgs g;
    kernels::TextCnnFwdArgs& a = g.fwd;
    a.T = s.T, a.B = s.B, a.C = s.C, a.dtype = dtype;
    a.num_widths = static_cast<int>(s.widths.size());
    for (int i = 0; i < a.num_widths; ++i) {
      a.widths[i].F = s.F;
      a.widths[i].K = s.widths[static_cast<std::size_t>(i)];
      a.widths[i].bias = a.widths[i].dweight = a.widths[i].dbias = &present;
    }
    f = kernels::textcnn_fwd_cost(a);
    g.dx = &present;
    if (training) b = kernels::textcnn_bwd_cost(g);
  }
  w.gflop = (f.flops + b.flops) / 1e9;
  w.bytes = f.bytes + b.bytes;
  return w;
}

// What checking one implementation at full batch costs on the CPU: the F32 reference's forward
// and backward (a dense conv backward for a plain conv, the sparse one for a block).
inline double reference_gflop(const ConvShape& s) { return work_of(s, DType::F32, true).gflop; }

// ---- the tensors ---------------------------------------------------------------------------------

// F32 master values on the CPU; every run converts them (and so rounds them) to its dtype.
struct Master {
  Tensor x;                             // [T, B, C]
  std::vector<Tensor> weights, biases;  // per width: [F, K, C], [F]; torch's init U(-1/sqrt(CK), +)
  Tensor dy;                            // validation's upstream gradient: [T', B, F] or [B, widths*F]
};

inline Master make_master(const ConvShape& s, std::int64_t B) {
  constexpr std::uint64_t kSeed = 0xc0417;
  Master m;
  UniformDraws draw(kSeed);
  m.x = draw({s.T, B, s.C}, 1.0f);
  for (std::int64_t K : s.widths) {
    const float k = 1.0f / std::sqrt(static_cast<float>(s.C * K));
    m.weights.push_back(draw({s.F, K, s.C}, k));
    m.biases.push_back(draw({s.F}, k));
  }
  const std::int64_t nw = static_cast<std::int64_t>(s.widths.size());
  m.dy = s.block ? draw({B, nw * s.F}, 1.0f) : draw({geometry(s, B, s.widths[0]).out_T(), B, s.F}, 1.0f);
  return m;
}

enum class Upstream {
  Ones,    // timing: dy = ones, as torch's y.backward(ones)
  Random,  // validation: a random dy, so dx and dW test more than column sums
};

struct Model {
  Tensor x, dy;
  std::vector<Tensor> weights, biases;
};

// Values rounded to `round_like`, stored as `dtype` on `device`; x and parameters differentiable.
// clone(): to() returns the tensor itself when nothing changes, and two models must never share
// a leaf (its gradient would be shared too).
inline Model instantiate(const Master& m, DType round_like, DType dtype, Device device, Upstream up) {
  auto convert = [&](const Tensor& t) { return t.to(round_like).to(dtype).to(device).clone(); };
  auto leaf = [&](const Tensor& t) {
    Tensor out = convert(t);
    out.set_requires_grad(true);
    return out;
  };
  Model model;
  model.x = leaf(m.x);
  for (const Tensor& w : m.weights) model.weights.push_back(leaf(w));
  for (const Tensor& b : m.biases) model.biases.push_back(leaf(b));
  model.dy = up == Upstream::Random ? convert(m.dy) : Tensor::full(m.dy.shape(), 1.0, dtype, device);
  return model;
}

inline ops::Conv1dOptions conv_options(const ImplCase& ic) {
  ops::Conv1dOptions o;  // valid padding, dilation 1
  o.impl = ic.impl;
  o.variant = ic.variant;
  return o;
}

inline std::vector<ops::TextCnnFilter> filters_of(const Model& m, const ops::Conv1dOptions& o) {
  std::vector<ops::TextCnnFilter> filters;
  for (std::size_t w = 0; w < m.weights.size(); ++w) filters.push_back({m.weights[w], m.biases[w], o});
  return filters;
}

// The output of one implementation: the conv's y, or the block's pooled [B, widths*F]. The fused
// block also hands back its argmax (for validation).
inline Tensor forward(const Model& m, const ImplCase& ic, Tensor* argmax = nullptr) {
  const ops::Conv1dOptions o = conv_options(ic);
  switch (ic.path) {
    case Path::Conv: return ops::conv1d(m.x, m.weights[0], m.biases[0], o);
    case Path::Fused: {
      ops::TextCnnResult r = ops::textcnn(m.x, Tensor(), filters_of(m, {}), o);
      if (argmax) *argmax = r.argmax;
      return r.pooled;
    }
    case Path::Composed: {
      std::vector<Tensor> pooled;
      for (std::size_t w = 0; w < m.weights.size(); ++w)
        pooled.push_back(ops::global_max_pool(ops::relu(ops::conv1d(m.x, m.weights[w], m.biases[w], o)), Tensor()));
      return ops::concat_last(pooled);
    }
  }
  return Tensor();
}

// One timed repetition. Gradients are dropped first so every repetition overwrites them (as
// torch's grad = None).
inline Tensor run_step(Model& m, const ImplCase& ic, bool training, Tensor* argmax = nullptr) {
  if (!training) {
    NoGradGuard no_grad;
    return forward(m, ic, argmax);
  }
  m.x.zero_grad();
  for (Tensor& w : m.weights) w.zero_grad();
  for (Tensor& b : m.biases) b.zero_grad();
  Tape tape;
  Tensor out;
  {
    auto rec = tape.record();
    out = forward(m, ic, argmax);
  }
  tape.backward(out, m.dy);
  return out;
}

// ---- validation ---------------------------------------------------------------------------------

inline std::vector<float> host(const Tensor& t) { return t.to(Device::cpu()).to_vector(); }

inline Named grads_of(const Model& m) {
  Named out{{"dx", host(m.x.grad())}};
  for (std::size_t w = 0; w < m.weights.size(); ++w) {
    const std::string tag = m.weights.size() > 1 ? "[" + std::to_string(w) + "]" : "";
    out.emplace_back("dW" + tag, host(m.weights[w].grad()));
    out.emplace_back("db" + tag, host(m.biases[w].grad()));
  }
  return out;
}

// Sanity bounds for whole tensors, not the test suite's per-element table (tests/support/
// compare.h): a stored F16/BF16 result carries one rounding (2^-11 / 2^-8 relative), TF32 rounds
// each operand to 10 mantissa bits, and long F32 sums in a different order stay near 1e-6. A broken
// kernel is off by O(1).
inline double tolerance(const DtypeCase& c) {
  if (c.dtype == DType::BF16) return 3e-2;
  if (c.dtype == DType::F16 || c.tf32) return 1e-2;
  return 1e-4;
}

// The CPU F32 reference at the validation batch, per rounding of the inputs.
struct Reference {
  explicit Reference(Master m) : master(std::move(m)) {}
  struct Values {
    Model model;                            // CPU, F32, values rounded like the candidate's
    Named conv;                             // plain conv: y, dx, dW, db
    std::vector<std::vector<float>> y;      // block: each width's pre-ReLU conv [T'_w, Bv, F]
    std::vector<float> pooled;              // block: [Bv, widths*F]
    double y_scale = 0;                     // block: max |y| over all widths
  };
  Master master;
  std::map<DType, Values> by_rounding;
};

inline const Reference::Values& reference(Reference& ref, const ConvShape& s, DType round_like) {
  auto it = ref.by_rounding.find(round_like);
  if (it != ref.by_rounding.end()) return it->second;
  Reference::Values v;
  v.model = instantiate(ref.master, round_like, DType::F32, Device::cpu(), Upstream::Random);
  if (!s.block) {
    const ImplCase cpu{Impl::Cpu, Conv1dVariant::ImplicitGemm, Path::Conv, "cpu"};
    v.conv = {{"y", host(run_step(v.model, cpu, true))}};
    for (auto& g : grads_of(v.model)) v.conv.push_back(std::move(g));
  } else {
    NoGradGuard no_grad;
    const std::int64_t Bv = v.model.x.dim(1), SF = s.F * static_cast<std::int64_t>(s.widths.size());
    v.pooled.assign(static_cast<std::size_t>(Bv * SF), 0.0f);
    ops::Conv1dOptions o;
    o.impl = Impl::Cpu;
    for (std::size_t w = 0; w < s.widths.size(); ++w) {
      v.y.push_back(host(ops::conv1d(v.model.x, v.model.weights[w], v.model.biases[w], o)));
      const std::int64_t Tp = geometry(s, Bv, s.widths[w]).out_T();
      for (std::int64_t t = 0; t < Tp; ++t)
        for (std::int64_t b = 0; b < Bv; ++b)
          for (std::int64_t f = 0; f < s.F; ++f) {
            const float y = v.y[w][static_cast<std::size_t>((t * Bv + b) * s.F + f)];
            float& p = v.pooled[static_cast<std::size_t>(b * SF + static_cast<std::int64_t>(w) * s.F + f)];
            p = std::max(p, y);  // starts at 0: max and ReLU commute
            v.y_scale = std::max(v.y_scale, static_cast<double>(std::fabs(y)));
          }
    }
  }
  return ref.by_rounding[round_like] = std::move(v);
}

// The block's argmax over time of each width's pre-ReLU conv, first index on ties (the pooling
// kernels' and the fused kernel's rule), from a candidate's own conv outputs: what its composed
// backward routed the gradient through.
inline std::vector<std::int32_t> composed_argmax(const Model& m, const ConvShape& s, const ImplCase& ic) {
  NoGradGuard no_grad;
  const std::int64_t Bv = m.x.dim(1), SF = s.F * static_cast<std::int64_t>(s.widths.size());
  std::vector<std::int32_t> arg(static_cast<std::size_t>(Bv * SF), 0);
  for (std::size_t w = 0; w < s.widths.size(); ++w) {
    const std::vector<float> y = host(ops::conv1d(m.x, m.weights[w], m.biases[w], conv_options(ic)));
    const std::int64_t Tp = geometry(s, Bv, s.widths[w]).out_T();
    for (std::int64_t b = 0; b < Bv; ++b)
      for (std::int64_t f = 0; f < s.F; ++f) {
        std::int32_t& a = arg[static_cast<std::size_t>(b * SF + static_cast<std::int64_t>(w) * s.F + f)];
        for (std::int64_t t = 1; t < Tp; ++t)
          if (y[static_cast<std::size_t>((t * Bv + b) * s.F + f)] > y[static_cast<std::size_t>((a * Bv + b) * s.F + f)])
            a = static_cast<std::int32_t>(t);
      }
  }
  return arg;
}

// How far below the reference maximum the candidate's argmax positions are, relative to max |y|;
// infinite for a position outside [0, T'_w).
inline double argmax_err(const Reference::Values& v, const ConvShape& s, const std::vector<std::int32_t>& arg) {
  const std::int64_t SF = s.F * static_cast<std::int64_t>(s.widths.size());
  const std::int64_t Bv = static_cast<std::int64_t>(arg.size()) / SF;
  double worst = 0;
  for (std::size_t w = 0; w < s.widths.size(); ++w) {
    const std::int64_t Tp = geometry(s, Bv, s.widths[w]).out_T();
    const std::vector<float>& y = v.y[w];
    for (std::int64_t b = 0; b < Bv; ++b)
      for (std::int64_t f = 0; f < s.F; ++f) {
        const std::int64_t a = arg[static_cast<std::size_t>(b * SF + static_cast<std::int64_t>(w) * s.F + f)];
        if (a < 0 || a >= Tp) return INFINITY;
        float best = -INFINITY;
        for (std::int64_t t = 0; t < Tp; ++t) best = std::max(best, y[static_cast<std::size_t>((t * Bv + b) * s.F + f)]);
        worst = std::max(worst, (best - y[static_cast<std::size_t>((a * Bv + b) * s.F + f)]) / std::max(v.y_scale, 1e-30));
      }
  }
  return worst;
}

// The block's gradients as the CPU fused backward computes them in F32 from the candidate's own
// argmax and pooled values (which decide where the gradient goes and whether ReLU passes it).
// (Copies of both: the kernel's argument struct holds the forward's outputs as writable pointers.)
inline Named block_reference_grads(const Reference::Values& v, const ConvShape& s, std::vector<float> pooled,
                                   std::vector<std::int32_t> arg) {
  const Model& m = v.model;
  const std::int64_t Bv = m.x.dim(1);
  kernels::TextCnnBwdArgs a;
  a.fwd.T = s.T, a.fwd.B = Bv, a.fwd.C = s.C, a.fwd.dtype = DType::F32;
  a.fwd.num_widths = static_cast<int>(s.widths.size());
  a.fwd.x = m.x.data_ptr();
  a.fwd.pooled = pooled.data();
  a.fwd.argmax = arg.data();
  a.dpooled = m.dy.data_ptr();
  std::vector<float> dx(static_cast<std::size_t>(s.T * Bv * s.C));
  std::vector<std::vector<float>> dw(s.widths.size()), db(s.widths.size());
  a.dx = dx.data();
  for (int w = 0; w < a.fwd.num_widths; ++w) {
    kernels::TextCnnWidth& k = a.fwd.widths[w];
    k.F = s.F;
    k.K = s.widths[static_cast<std::size_t>(w)];
    k.weight = m.weights[static_cast<std::size_t>(w)].data_ptr();
    k.bias = m.biases[static_cast<std::size_t>(w)].data_ptr();
    dw[static_cast<std::size_t>(w)].resize(static_cast<std::size_t>(s.F * k.K * s.C));
    db[static_cast<std::size_t>(w)].resize(static_cast<std::size_t>(s.F));
    k.dweight = dw[static_cast<std::size_t>(w)].data();
    k.dbias = db[static_cast<std::size_t>(w)].data();
  }
  kernels::textcnn_bwd_cpu(a);
  Named out{{"dx", dx}};
  for (std::size_t w = 0; w < s.widths.size(); ++w) {
    const std::string tag = s.widths.size() > 1 ? "[" + std::to_string(w) + "]" : "";
    out.emplace_back("dW" + tag, dw[w]);
    out.emplace_back("db" + tag, db[w]);
  }
  return out;
}

// Runs the candidate at the validation batch in each phase and compares; "ok" or why not.
inline std::string validate(Reference& ref, const ConvShape& s, const DtypeCase& c, const ImplCase& ic, Device device,
                            const std::vector<std::string>& phases, double* rel_err) {
  Model m = instantiate(ref.master, c.dtype, c.dtype, device, Upstream::Random);
  const Reference::Values& want = reference(ref, s, c.dtype);
  std::string where;
  *rel_err = 0;
  auto note = [&](double e, const std::string& w) {
    if (!(e <= *rel_err)) *rel_err = e, where = w;
  };
  for (const std::string& phase : phases) {
    const bool training = phase == "fwd+bwd";
    Tensor argmax;
    const std::vector<float> out = host(run_step(m, ic, training, &argmax));
    std::string w;
    if (!s.block) {
      Named got{{"y", out}};
      if (training)
        for (auto& g : grads_of(m)) got.push_back(std::move(g));
      apply_test_hook(ic.row, got);
      const double e = worst_rel_err(got, Named(want.conv.begin(), want.conv.begin() + static_cast<long>(got.size())), &w);
      note(e, w + " " + phase);
      continue;
    }
    Named pooled{{"pooled", out}};
    apply_test_hook(ic.row, pooled);
    note(worst_rel_err(pooled, {{"pooled", want.pooled}}, &w), "pooled " + phase);
    if (!training) continue;
    const std::vector<std::int32_t> arg =
        ic.path == Path::Fused ? argmax.to(Device::cpu()).to_vector_i32() : composed_argmax(m, s, ic);
    note(argmax_err(want, s, arg), "argmax " + phase);
    const double e = worst_rel_err(grads_of(m), block_reference_grads(want, s, out, arg), &w);  // sets w first
    note(e, w + " " + phase);
  }
  if (*rel_err <= tolerance(c)) return "ok";
  return mismatch_status(*rel_err, tolerance(c), where);
}

}  // namespace loom::bench
