// bench/engine/lstm.cc: `loom bench lstm`. Every row of the LSTM variant table for the device
// (kernels/lstm/lstm_variants.h: on the CPU the plain-loop "reference" and the "cpu" training path;
// on the GPU "cuda-v1", "cuda-v2", "cudnn", "cudnn-persist" where legal), and the in-process
// libtorch peer (bench/torch_peer/torch_peer.h), each validated against the CPU F32 path first and
// timed only when it matches. The "reference" row, plain loops on one thread, is timed with 1
// warm-up and at most 3 repetitions.
//
// Every point: inputs and weights from a fixed seed (torch's init, U(-1/sqrt(H), 1/sqrt(H))), each
// implementation run on those values rounded to the tested dtype, compared with the CPU F32
// reference (normwise relative error, the worst tensor named), and timed only when within
// tolerance. Forward-only runs under NoGradGuard; forward+backward records a Tape and seeds
// dy = ones, like torch's y.backward(ones), including the input gradient. libtorch gets the same
// F32 master values (its state_dict layout is loom's) and its outputs and gradients are checked
// the same way before its timed run.
//
// Multi-layer and bidirectional points chain ops::lstm_seq per layer (each call runs both
// directions), the same thing layers::Lstm does, because the layer keeps F32 parameters and the
// bench must also run BF16/F16 storage end to end.
//
// Validation cost: a point whose CPU reference costs more than --validate-gflop (default 100) is
// validated at the same B, C, H, L, D, dtype and lengths pattern with fewer time steps
// (validated_T): the kernels run the same code per step, only the loop is shorter.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench/engine/engine.h"
#include "core/device.h"
#include "core/parallel.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"
#include "ops/autograd.h"
#include "ops/dispatch.h"
#include "ops/lstm.h"

namespace loom::bench {
namespace {

using kernels::LstmVariantRow;
using ops::Direction;

struct LstmShape {
  std::int64_t T = 50, B = 64, C = 128, H = 256;
  int L = 1, D = 1;
  bool variable = false;  // per-row lengths (else every row runs all T steps)
};

// One row of the variant table; the report shows it as "<impl>/<row>".
struct ImplCase {
  const LstmVariantRow* row;
  std::string name() const {
    if (row->device == DeviceType::Cpu) return "cpu";
    return std::string(row->name).rfind("cudnn", 0) == 0 ? "cudnn" : "cuda";
  }
  std::string variant_name() const { return row->name; }
  ops::LstmSeqOptions options() const {
    ops::LstmSeqOptions o;
    o.row = row->name;
    return o;
  }
  bool is_reference_row() const { return std::string(row->name) == "reference"; }
};

// Row 0 runs all T steps (so torch's pad_packed_sequence gives back T steps); the others spread
// over [T - T/2, T] with a fixed stride. torch_reference.py uses the same formula.
std::vector<std::int32_t> lengths_for(std::int64_t T, std::int64_t B) {
  std::vector<std::int32_t> len(B);
  for (std::int64_t b = 0; b < B; ++b) len[b] = static_cast<std::int32_t>(T - (b * 7) % (T / 2 + 1));
  return len;
}

double valid_fraction(const LstmShape& s) {
  if (!s.variable) return 1.0;
  double sum = 0;
  for (std::int32_t l : lengths_for(s.T, s.B)) sum += l;
  return sum / static_cast<double>(s.T * s.B);
}

// ---- work: flops and bytes from the kernels' cost() formulas ------------------------------------

struct Work {
  double gflop = 0;  // over valid (t, b) only, so variable lengths are not credited for padding
  double bytes = 0;  // minimum traffic of the padded shape (weights do not shrink with lengths)
};

Work work_of(const LstmShape& s, DType dtype, bool training) {
  static char present;  // cost() only asks which optional buffers exist
  Work w;
  for (int l = 0; l < s.L; ++l) {
    kernels::LstmSeqFwdArgs a;
    a.T = s.T, a.B = s.B, a.C = l == 0 ? s.C : s.D * s.H, a.H = s.H, a.D = s.D, a.dtype = dtype;
    for (int d = 0; d < s.D && training; ++d) a.dirs[d].c_saved = a.dirs[d].gates_saved = &present;
    const kernels::Cost f = kernels::lstm_seq_fwd_cost(a);
    w.gflop += f.flops / 1e9;
    w.bytes += f.bytes;
    if (!training) continue;
    kernels::LstmSeqBwdArgs b;
    b.fwd = a;
    b.dy = b.dx = &present;  // the bench differentiates by x too, as torch's run does
    for (int d = 0; d < s.D; ++d) b.grads[d].dw_ih = b.grads[d].dw_hh = b.grads[d].dbias = &present;
    b.param_mode = b.input_mode = GradMode::Overwrite;
    const kernels::Cost g = kernels::lstm_seq_bwd_cost(b);
    w.gflop += g.flops / 1e9;
    w.bytes += g.bytes;
  }
  w.gflop *= valid_fraction(s);
  return w;
}

// ---- the model under test ---------------------------------------------------------------------

// F32 master values on the CPU; every run converts them (and so rounds them) to its dtype.
struct Master {
  Tensor x;                           // [T, B, C]
  std::vector<std::int32_t> lengths;  // empty: fixed length
  std::vector<Tensor> params;         // per layer, direction: w_ih, w_hh, b_ih, b_hh
};

Master make_master(const LstmShape& s, std::int64_t T) {
  constexpr std::uint64_t kSeed = 0x15f3;
  Master m;
  UniformDraws draw(kSeed);
  m.x = draw({T, s.B, s.C}, 1.0f);
  if (s.variable) m.lengths = lengths_for(T, s.B);
  const float k = 1.0f / std::sqrt(static_cast<float>(s.H));
  for (int l = 0; l < s.L; ++l) {
    const std::int64_t C = l == 0 ? s.C : s.D * s.H;
    for (int d = 0; d < s.D; ++d) {
      m.params.push_back(draw({4 * s.H, C}, k));
      m.params.push_back(draw({4 * s.H, s.H}, k));
      m.params.push_back(draw({4 * s.H}, k));
      m.params.push_back(draw({4 * s.H}, k));
    }
  }
  return m;
}

struct Model {
  Tensor x, lengths, ones;  // ones: dy for backward, [T, B, D*H]
  std::vector<Tensor> params;
  std::vector<std::vector<ops::LstmDirectionParams>> layers;
};

// Values rounded to `round_like`, stored as `dtype` on `device`; everything differentiable.
// clone(): to() returns the tensor itself when nothing changes, and two models must never share
// a leaf (its gradient would be shared too).
Model instantiate(const Master& m, const LstmShape& s, DType round_like, DType dtype, Device device) {
  auto convert = [&](const Tensor& t) {
    Tensor out = t.to(round_like).to(dtype).to(device).clone();
    out.set_requires_grad(true);
    return out;
  };
  Model model;
  model.x = convert(m.x);
  if (!m.lengths.empty()) model.lengths = Tensor::from_vector(m.lengths, {s.B}, device);
  model.ones = Tensor::full({m.x.dim(0), s.B, s.D * s.H}, 1.0, dtype, device);
  for (const Tensor& p : m.params) model.params.push_back(convert(p));
  for (int l = 0; l < s.L; ++l) {
    std::vector<ops::LstmDirectionParams> dirs(s.D);
    for (int d = 0; d < s.D; ++d) {
      const Tensor* p = &model.params[4 * (l * s.D + d)];
      dirs[d].dir = d == 0 ? Direction::Forward : Direction::Reverse;
      dirs[d].w_ih = p[0], dirs[d].w_hh = p[1], dirs[d].b_ih = p[2], dirs[d].b_hh = p[3];
    }
    model.layers.push_back(dirs);
  }
  return model;
}

struct Outputs {
  Tensor y;
  std::vector<Tensor> h_n, c_n;
};

Outputs forward(const Model& m, const ops::LstmSeqOptions& o) {
  Outputs out;
  out.y = m.x;
  for (const auto& dirs : m.layers) {
    ops::LstmSeqResult r = ops::lstm_seq(out.y, m.lengths, dirs, o);
    out.y = r.y;
    for (std::size_t d = 0; d < dirs.size(); ++d) out.h_n.push_back(r.h_n[d]), out.c_n.push_back(r.c_n[d]);
  }
  return out;
}

Outputs forward_inference(const Model& m, const ops::LstmSeqOptions& o) {
  NoGradGuard no_grad;
  return forward(m, o);
}

// One training step's LSTM work: forward recorded, backward from dy = ones. Gradients are
// dropped first so every repetition overwrites them (as torch's grad = None).
Outputs forward_backward(Model& m, const ops::LstmSeqOptions& o) {
  m.x.zero_grad();
  for (Tensor& p : m.params) p.zero_grad();
  Tape tape;
  Outputs out;
  {
    auto rec = tape.record();
    out = forward(m, o);
  }
  tape.backward(out.y, m.ones);
  return out;
}

// ---- validation -------------------------------------------------------------------------------

Named collect(const Model& m, const Outputs& o, const LstmShape& s, bool with_grads) {
  auto host = [](const Tensor& t) { return t.to(Device::cpu()).to_vector(); };
  Named out{{"y", host(o.y)}};
  for (std::size_t i = 0; i < o.h_n.size(); ++i) {
    out.emplace_back("h_n[" + std::to_string(i) + "]", host(o.h_n[i]));
    out.emplace_back("c_n[" + std::to_string(i) + "]", host(o.c_n[i]));
  }
  if (!with_grads) return out;
  out.emplace_back("dx", host(m.x.grad()));
  const char* names[] = {"dW_ih", "dW_hh", "db_ih", "db_hh"};
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    const std::size_t ld = i / 4;
    out.emplace_back(std::string(names[i % 4]) + "[l" + std::to_string(ld / s.D) + "d" + std::to_string(ld % s.D) + "]",
                     host(m.params[i].grad()));
  }
  return out;
}

// Sanity bounds, not the test suite's tolerance table (tests/support/compare.h): errors compound
// over T recurrent steps and over T*B-row weight-gradient sums, so these are ~10x the per-op
// tolerances; a broken kernel is off by O(1).
double tolerance(const DtypeCase& c) {
  if (c.dtype == DType::BF16) return 6e-2;
  if (c.dtype == DType::F16 || c.tf32) return 2e-2;
  return 1e-4;
}

// ---- the run ----------------------------------------------------------------------------------

bool supported(const ImplCase& ic, const LstmShape& s, DType dtype, const Model& m, std::string* why) {
  for (int l = 0; l < s.L; ++l) {  // every layer must fit (layer l > 0 has C = D*H)
    kernels::LstmSeqFwdArgs a;
    a.T = s.T, a.B = s.B, a.C = l == 0 ? s.C : s.D * s.H, a.H = s.H, a.D = s.D, a.dtype = dtype;
    a.lengths = m.lengths.defined() ? m.lengths.data<std::int32_t>() : nullptr;
    for (int d = 0; d < s.D; ++d) a.dirs[d].reverse = d > 0;
    if (!kernels::variant_supports(*ic.row, a, why)) return false;
  }
  return true;
}

Point point_of(const LstmShape& s, const DtypeCase& c, const std::string& phase, Device device) {
  Point p;
  p.family = "lstm";
  p.device = device.is_cpu() ? "cpu" : "cuda";
  p.dtype = dtype_name(c.dtype);
  p.tf32 = c.tf32;
  p.phase = phase;
  p.T = s.T, p.B = s.B, p.C = s.C, p.H = s.H, p.L = s.L, p.D = s.D;
  p.lengths = s.variable ? "variable" : "fixed";
  p.threads = num_threads();
  return p;
}

// The reference at validation length Tv: CPU, F32, on values rounded to `round_like`.
struct Reference {
  std::int64_t Tv = 0;
  Master master;
  std::map<DType, Named> by_rounding;
};

const Named& reference(Reference& ref, const LstmShape& s, DType round_like) {
  auto it = ref.by_rounding.find(round_like);
  if (it != ref.by_rounding.end()) return it->second;
  LstmShape sv = s;
  sv.T = ref.Tv;
  Model m = instantiate(ref.master, sv, round_like, DType::F32, Device::cpu());
  ops::LstmSeqOptions cpu;
  cpu.impl = Impl::Cpu;
  const Outputs o = forward_backward(m, cpu);
  return ref.by_rounding[round_like] = collect(m, o, sv, true);
}

// Runs the candidate at validation length and compares; returns "ok" or why not.
std::string validate(Reference& ref, const LstmShape& s, const DtypeCase& c, const ImplCase& ic, Device device,
                     const std::vector<std::string>& phases, double* rel_err) {
  LstmShape sv = s;
  sv.T = ref.Tv;
  Model m = instantiate(ref.master, sv, c.dtype, c.dtype, device);
  const ops::LstmSeqOptions o = ic.options();
  const Named& want = reference(ref, s, c.dtype);
  std::string where;
  *rel_err = 0;
  for (const std::string& phase : phases) {
    const bool training = phase == "fwd+bwd";
    const Outputs out = training ? forward_backward(m, o) : forward_inference(m, o);
    Named got = collect(m, out, sv, training);
    apply_test_hook(ic.variant_name(), got);
    std::string w;
    const double e = worst_rel_err(got, Named(want.begin(), want.begin() + static_cast<long>(got.size())), &w);
    if (!(e <= *rel_err)) *rel_err = e, where = w + " " + phase;
  }
  if (*rel_err <= tolerance(c)) return "ok";
  return mismatch_status(*rel_err, tolerance(c), where);
}

// ---- libtorch -----------------------------------------------------------------------------------

// The peer's state_dict name of loom's parameter k (0 w_ih, 1 w_hh, 2 b_ih, 3 b_hh) of layer l,
// direction d; the order of loom's parameters is torch's.
std::string torch_param_name(int k, int l, int d) {
  static const char* names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  return std::string(names[k]) + "_l" + std::to_string(l) + (d ? "_reverse" : "");
}

torch_peer::LstmCase peer_case(const Master& m, const LstmShape& s, std::int64_t T) {
  torch_peer::LstmCase c;
  c.T = T, c.B = s.B, c.C = s.C, c.H = s.H, c.layers = s.L, c.bidirectional = s.D == 2;
  c.lengths = m.lengths;
  c.x = m.x.to_vector();
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    const int ld = static_cast<int>(i / 4);
    c.params.emplace_back(torch_param_name(static_cast<int>(i % 4), ld / s.D, ld % s.D), m.params[i].to_vector());
  }
  return c;
}

// The reference's outputs under the peer's names: y, dx and the parameter gradients.
Named reference_for_peer(const Named& ref, const LstmShape& s) {
  Named out;
  const char* loom_names[] = {"dW_ih", "dW_hh", "db_ih", "db_hh"};
  for (const auto& [name, values] : ref) {
    if (name == "y" || name == "dx") out.emplace_back(name, values);
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < s.L; ++l)
        for (int d = 0; d < s.D; ++d)
          if (name == std::string(loom_names[k]) + "[l" + std::to_string(l) + "d" + std::to_string(d) + "]")
            out.emplace_back(torch_param_name(k, l, d), values);
  }
  return out;
}

// libtorch's rows of one point and dtype: validated at the validation length (one untimed run per
// pass), then timed at the full length.
void libtorch_rows(Context& ctx, Reference& ref, const Master& master, const LstmShape& s, const DtypeCase& c) {
  Row base;
  base.impl = "libtorch";
  base.device_name = ctx.device_name;
  base.validated_T = ref.Tv;
  if (!torch_peer::available()) {
    base = libtorch_unavailable_row(ctx, "no libtorch in this build (see the # libtorch line)");
  } else if (c.tf32) {
    base.status = "unsupported: the peer runs F32 without TF32";
  } else {
    try {
      const Named want = reference_for_peer(reference(ref, s, c.dtype), s);
      const torch_peer::LstmCase vc = peer_case(ref.master, s, ref.Tv);
      base.rel_err = 0;
      std::string where;
      for (const std::string& phase : ctx.phases) {
        torch_peer::Result r = torch_peer::run_lstm(vc, ctx.peer_settings(c, phase == "fwd+bwd", false));
        if (!r.ok) {
          base.status = "unsupported: " + r.error;
          break;
        }
        apply_test_hook("libtorch", r.outputs);
        std::string w;
        const double e = named_rel_err(r.outputs, want, &w);
        if (!(e <= base.rel_err)) base.rel_err = e, where = w + " " + phase;
      }
      if (is_ok(base.status) && !(base.rel_err <= tolerance(c)))
        base.status = mismatch_status(base.rel_err, tolerance(c), where);
    } catch (const std::exception& e) {
      base.status = std::string("error: ") + e.what();
    }
  }
  const torch_peer::LstmCase tc = is_ok(base.status) ? peer_case(master, s, s.T) : torch_peer::LstmCase{};
  for (const std::string& phase : ctx.phases) {
    Row row = base;
    row.point = point_of(s, c, phase, ctx.device);
    const Work w = work_of(s, c.dtype, phase == "fwd+bwd");
    row.gflop = w.gflop;
    if (is_ok(row.status)) {
      const torch_peer::Result r = torch_peer::run_lstm(tc, ctx.peer_settings(c, phase == "fwd+bwd", true));
      if (r.ok && !r.ms.empty()) row.time = summarize(r.ms);
      else row.status = "error: " + (r.error.empty() ? std::string("no timings") : r.error);
    }
    finish_row(ctx, peak_for(ctx, c), w.bytes, std::move(row), ctx.rows);
  }
}

void run_shape(Context& ctx, const LstmShape& s, const std::vector<ImplCase>& impls) {
  const Master master = make_master(s, s.T);
  Reference ref;
  const double ref_gflop = work_of(s, DType::F32, true).gflop;  // one fwd+bwd on the CPU
  ref.Tv = validation_extent(s.T, ref_gflop, ctx.validate_gflop);
  ref.master = ref.Tv == s.T ? master : make_master(s, ref.Tv);

  for (const DtypeCase& c : ctx.dtypes) {
    set_math_mode(ctx.device, c.tf32 ? MathMode::AllowTf32 : MathMode::Default);
    Model model = instantiate(master, s, c.dtype, c.dtype, ctx.device);
    for (const ImplCase& ic : impls) {
      Row base;
      base.impl = ic.name();
      base.variant = ic.variant_name();
      base.device_name = ctx.device_name;
      base.validated_T = ref.Tv;
      std::string why;
      if (!supported(ic, s, c.dtype, model, &why)) base.status = "unsupported: " + why;
      // The CPU path at F32 is the bench's oracle (tests check it against the plain-loop reference).
      const bool is_oracle = std::string(ic.row->name) == "cpu" && c.dtype == DType::F32;
      try {
        if (base.status == "ok" && is_oracle) base.rel_err = 0, base.status = "ok (oracle)";
        else if (base.status == "ok") base.status = validate(ref, s, c, ic, ctx.device, ctx.phases, &base.rel_err);
      } catch (const std::exception& e) {
        base.status = std::string("error: ") + e.what();
      }
      for (const std::string& phase : ctx.phases) {
        Row row = base;
        row.point = point_of(s, c, phase, ctx.device);
        const bool training = phase == "fwd+bwd";
        const Work w = work_of(s, c.dtype, training);
        row.gflop = w.gflop;
        if (is_ok(row.status)) {
          const ops::LstmSeqOptions o = ic.options();
          auto step = [&] { training ? forward_backward(model, o) : forward_inference(model, o); };
          const int warmup = ic.is_reference_row() ? std::min(ctx.warmup, 1) : ctx.warmup;
          const int reps = ic.is_reference_row() ? std::min(ctx.reps, 3) : ctx.reps;
          time_row(ctx, step, warmup, reps, &row);
        }
        finish_row(ctx, peak_for(ctx, c), w.bytes, std::move(row), ctx.rows);
      }
    }
    if (ctx.wants_libtorch()) libtorch_rows(ctx, ref, master, s, c);
  }
  set_math_mode(ctx.device, MathMode::Default);
}

// The shapes of a run: one point when any shape flag is given, else the --grid preset. Each grid
// entry pairs a layout with the lengths it is run with.
std::vector<LstmShape> shapes_for(const BenchRequest& r, bool gpu) {
  std::vector<LstmShape> grid;
  std::string lengths = r.lengths == "fixed" ? "full" : r.lengths == "variable" ? "mixed" : r.lengths;
  if (lengths == "all") lengths = "both";
  if (r.batch || r.seq || r.input || r.hidden || r.layers || r.bidirectional) {
    LstmShape s;
    s.H = r.hidden ? r.hidden : s.H, s.B = r.batch ? r.batch : s.B, s.T = r.seq ? r.seq : s.T;
    s.C = r.input ? r.input : s.C;
    s.L = r.layers ? r.layers : 1, s.D = r.bidirectional ? 2 : 1;
    for (bool v : {false, true}) grid.push_back(s), grid.back().variable = v;
    if (lengths.empty()) lengths = "full";  // one point means one lengths setting unless asked
  } else if (r.grid == "quick") {
    for (int ld : {1, 2})
      for (bool v : {false, true}) grid.push_back({20, 8, 32, 64, ld, ld, v});
  } else if (r.grid == "target" || r.grid == "targets") {
    for (std::int64_t h : gpu ? std::vector<std::int64_t>{256, 512} : std::vector<std::int64_t>{256}) {
      grid.push_back({50, 64, 128, h, 1, 1, false});  // the uni-directional target
      grid.push_back({50, 64, 128, h, 2, 2, true});   // the packed BiLSTM target
    }
  } else {
    for (std::int64_t h : {128, 256, 512, 1024})
      for (std::int64_t b : {1, 32, 64, 256})
        for (std::int64_t t : {50, 100})
          for (int ld : {1, 2})
            for (bool v : {false, true}) grid.push_back({t, b, 128, h, ld, ld, v});
  }
  std::vector<LstmShape> out;
  for (const LstmShape& s : grid)
    if (lengths.empty() || lengths == "both" || (lengths == "mixed") == s.variable) out.push_back(s);
  return out;
}

}  // namespace

void run_lstm_family(Context& ctx) {
  ctx.validate_gflop = ctx.req.validate_gflop > 0 ? ctx.req.validate_gflop : 100;
  const std::vector<LstmShape> shapes = shapes_for(ctx.req, ctx.device.is_cuda());
  std::vector<ImplCase> impls;
  for (const LstmVariantRow& row : kernels::lstm_variants()) {
    const ImplCase ic{&row};
    if (row.device != ctx.device.type) continue;
    if (ctx.wants(row.name, ic.name())) impls.push_back(ic);
  }
  LOOM_CHECK(!impls.empty() || ctx.wants_libtorch(), "--impl: nothing of it runs on ", ctx.device.str());
  ctx.notes.push_back("work: lstm_seq_fwd_cost (+ lstm_seq_bwd_cost with dx) per layer, over valid (t, b) only; "
                      "validation: normwise max|a-e|/max|e| vs the CPU F32 path at validated_T; dy = ones");
  ctx.shapes_summary = std::to_string(shapes.size()) + " shapes x " + std::to_string(ctx.dtypes.size()) +
                       " dtypes x " + std::to_string(ctx.phases.size()) + " passes x " +
                       std::to_string(impls.size() + (ctx.wants_libtorch() ? 1 : 0)) + " implementations";
  for (const LstmShape& s : shapes) run_shape(ctx, s, impls);
}

}  // namespace loom::bench
