// bench/engine/conv1d.cc: `loom bench conv1d` (one 1-D convolution, [T, B, C] -> [T-K+1, B, F])
// and `loom bench textcnn` (Kim's block: per width conv -> bias -> ReLU -> max over time,
// concatenated to [B, widths * F]), each against the in-process libtorch peer.
//
// What runs at a point:
//   conv   every row of kernels::conv1d_variants() for the device (CPU: the naive reference and the
//          K accumulated GEMMs; CUDA: cuda-v1, cuda-v2, cudnn), each selected through the ops.
//   block  ops::textcnn, the fused node, once per row of kernels::textcnn_variants() for the
//          device (CPU: the reference and GEMMs then a serial masked max; CUDA: the v3 kernel),
//          against the composed ops conv1d -> relu -> global_max_pool -> concat_last that
//          layers::TextCnnBlock falls back to (once per conv row other than the reference).
// Forward-only runs under NoGradGuard; forward+backward records a Tape and seeds the output's
// gradient with ones, like torch's y.backward(ones); x requires a gradient too (torch's does).
//
// Validation (before any timing; a point that fails is reported and not timed): every candidate
// runs on values rounded to its dtype and is compared with the CPU in F32 on the same values
// (normwise: max |a - e| / max |e| per tensor, the worst tensor named), with a random upstream
// gradient instead of ones so that dx and dW test more than column sums. The block needs care:
// its backward follows the argmax over time, and two positions whose conv values differ by less
// than the rounding of the dtype (or of a different summation order) may legitimately swap. So a
// block candidate is checked in three steps: its pooled values against the reference's; its
// argmax (the fused kernel returns it; for the composed ops it is recomputed from the candidate's
// own conv output, first index on ties, as the pooling kernels do) must pick a position whose
// REFERENCE value is the maximum within tolerance; and its gradients against the CPU fused
// backward (textcnn_bwd_cpu, F32) run with the candidate's own argmax and pooled values.
// Reference cost: a point whose CPU check costs more than --validate-gflop is validated at the
// same T, C, F, widths and dtype with fewer rows (validated_B): rows are independent, every
// kernel runs the same code per row, and the GPU machine has no tuned CPU BLAS.
//
// libtorch (bench/torch_peer/torch_peer.h) gets the same F32 master values (the weights transposed
// to torch's [F, C, K]) and runs with dy = ones; its outputs and gradients are compared with loom's
// CPU path run the same way (the composed ops for the block) before it is timed. For the block at
// BF16/F16 only the pooled values are compared: its gradients follow the argmax, which rounding may
// legitimately move (see above).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/engine/conv1d_model.h"
#include "bench/engine/engine.h"
#include "core/device.h"
#include "core/parallel.h"
#include "ops/dispatch.h"

namespace loom::bench {
namespace {

// The rows of a variant table that run on this device and pass --impl.
template <class TableRow>
std::vector<std::string> rows_for(const std::vector<TableRow>& table, const Context& ctx) {
  std::vector<std::string> out;
  for (const TableRow& r : table) {
    const std::string name = r.name;
    if ((r.device == DeviceType::Cpu) != ctx.device.is_cpu()) continue;
    const std::string kind = r.device == DeviceType::Cpu ? "cpu" : name == "cudnn" ? "cudnn" : "cuda";
    if (ctx.wants(name, kind)) out.push_back(name);
  }
  return out;
}

// The implementations a shape is run with on this device, in table order: every row of the
// kernel family's tables (a new row is benchmarked as soon as the ops can select it).
std::vector<ImplCase> impls_for(const ConvShape& s, Context& ctx) {
  std::vector<ImplCase> out;
  auto add = [&](const std::string& row, Path path) {
    ImplCase ic;
    if (impl_case_of(row, path, &ic)) out.push_back(ic);
    else ctx.err << "loom bench: row " << row << " has no ops selection yet; not run\n";
  };
  if (s.block)
    for (const std::string& row : rows_for(kernels::textcnn_variants(), ctx)) add(row, Path::Fused);
  for (const std::string& row : rows_for(kernels::conv1d_variants(), ctx))
    if (!s.block || row != "reference") add(row, s.block ? Path::Composed : Path::Conv);
  return out;
}

bool supported(const ImplCase& ic, const ConvShape& s, DType dtype, const Model& m, std::string* why) {
  if (ic.impl == Impl::Cpu) return true;
  if (ic.path == Path::Fused) return ops::textcnn_supported(m.x, filters_of(m, {}), why);
  const kernels::Conv1dVariantRow& row = kernels::conv1d_variant(ic.row);
  for (std::int64_t K : s.widths) {  // every width's convolution must fit
    kernels::Conv1dFwdArgs a;
    a.g.T = s.T, a.g.B = s.B, a.g.C = s.C, a.g.F = s.F, a.g.K = K;
    a.dtype = dtype;
    if (!kernels::variant_supports(row, a, why)) return false;
  }
  return true;
}

Point point_of(const ConvShape& s, const DtypeCase& c, const std::string& phase, Device device) {
  Point p;
  p.family = s.block ? "textcnn" : "conv1d";
  p.device = device.is_cpu() ? "cpu" : "cuda";
  p.dtype = dtype_name(c.dtype);
  p.tf32 = c.tf32;
  p.phase = phase;
  p.T = s.T, p.B = s.B, p.C = s.C, p.F = s.F;
  p.widths = s.widths;
  p.threads = num_threads();
  return p;
}

// A refusal that only shows up when cuDNN is asked for an engine (e.g. no BF16 engine for this
// convolution on this GPU) is a capability, not a failure of the bench.
std::string conv_error_status(const std::exception& e, const ImplCase& ic) {
  const std::string what = e.what();
  if (ic.impl == Impl::Cudnn && dynamic_cast<const CudnnError*>(&e) && what.find("NOT_SUPPORTED") != std::string::npos)
    return "unsupported: " + what;
  return "error: " + what;
}

// ---- libtorch -----------------------------------------------------------------------------------

// loom's weight [F, K, C] as torch's [F, C, K], and back.
std::vector<float> to_fck(const std::vector<float>& w, std::int64_t F, std::int64_t K, std::int64_t C) {
  std::vector<float> out(w.size());
  for (std::int64_t f = 0; f < F; ++f)
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t c = 0; c < C; ++c)
        out[static_cast<std::size_t>((f * C + c) * K + k)] = w[static_cast<std::size_t>((f * K + k) * C + c)];
  return out;
}

// The peer's parameter names for width i: "weight"/"bias" for a plain conv, "convs.i.*" for a block.
std::string peer_param(const ConvShape& s, std::size_t i, const char* what) {
  return s.block ? "convs." + std::to_string(i) + "." + what : std::string(what);
}

// loom's CPU path with dy = ones on the master values rounded like the peer's dtype: y (or pooled),
// dx and each width's dW (in torch's layout) and db, under the peer's names.
Named peer_reference(const Master& master, const ConvShape& s, DType round_like, bool training) {
  Model m = instantiate(master, round_like, DType::F32, Device::cpu(), Upstream::Ones);
  const ImplCase cpu{Impl::Cpu, Conv1dVariant::ImplicitGemm, s.block ? Path::Composed : Path::Conv, "cpu"};
  Named out{{"y", host(run_step(m, cpu, training))}};
  if (!training) return out;
  out.emplace_back("dx", host(m.x.grad()));
  for (std::size_t w = 0; w < s.widths.size(); ++w) {
    out.emplace_back(peer_param(s, w, "weight"), to_fck(host(m.weights[w].grad()), s.F, s.widths[w], s.C));
    out.emplace_back(peer_param(s, w, "bias"), host(m.biases[w].grad()));
  }
  return out;
}

// The peer's case at the master's batch (the validation batch or the full one).
template <class Case>
Case peer_case(const Master& m, const ConvShape& s) {
  Case c;
  c.T = s.T, c.B = m.x.dim(1), c.C = s.C, c.F = s.F;
  c.x = m.x.to_vector();
  for (std::size_t w = 0; w < s.widths.size(); ++w) {
    c.params.emplace_back(peer_param(s, w, "weight"), to_fck(m.weights[w].to_vector(), s.F, s.widths[w], s.C));
    c.params.emplace_back(peer_param(s, w, "bias"), m.biases[w].to_vector());
  }
  return c;
}

torch_peer::Result run_peer(const Master& m, const ConvShape& s, const torch_peer::Settings& st) {
  if (s.block) {
    torch_peer::TextCnnCase c = peer_case<torch_peer::TextCnnCase>(m, s);
    c.widths = s.widths;
    return torch_peer::run_textcnn(c, st);
  }
  torch_peer::Conv1dCase c = peer_case<torch_peer::Conv1dCase>(m, s);
  c.K = s.widths[0];
  return torch_peer::run_conv1d(c, st);
}

// libtorch's rows of one point and dtype: validated at the validation batch, then timed.
void libtorch_rows(Context& ctx, const Master& master, const Master& vmaster, const ConvShape& s, const DtypeCase& c,
                   std::int64_t Bv) {
  Row base;
  base.impl = "libtorch";
  base.device_name = ctx.device_name;
  base.validated_B = Bv;
  if (!torch_peer::available()) {
    base = libtorch_unavailable_row(ctx, "no libtorch in this build (see the # libtorch line)");
  } else if (c.tf32) {
    base.status = "unsupported: the peer runs F32 without TF32";
  } else {
    try {
      base.rel_err = 0;
      std::string where;
      for (const std::string& phase : ctx.phases) {
        const bool training = phase == "fwd+bwd";
        torch_peer::Result r = run_peer(vmaster, s, ctx.peer_settings(c, training, false));
        if (!r.ok) {
          base.status = "unsupported: " + r.error;
          break;
        }
        apply_test_hook("libtorch", r.outputs);
        // The block's gradients follow its argmax, which rounding may move: compared at F32 only.
        if (s.block && c.dtype != DType::F32) r.outputs.resize(1);
        std::string w;
        const double e = named_rel_err(r.outputs, peer_reference(vmaster, s, c.dtype, training), &w);
        if (!(e <= base.rel_err)) base.rel_err = e, where = w + " " + phase;
      }
      if (is_ok(base.status) && !(base.rel_err <= tolerance(c)))
        base.status = mismatch_status(base.rel_err, tolerance(c), where);
    } catch (const std::exception& e) {
      base.status = std::string("error: ") + e.what();
    }
  }
  for (const std::string& phase : ctx.phases) {
    const bool training = phase == "fwd+bwd";
    Row row = base;
    row.point = point_of(s, c, phase, ctx.device);
    const Work w = work_of(s, c.dtype, training);
    row.gflop = w.gflop;
    if (is_ok(row.status)) {
      const torch_peer::Result r = run_peer(master, s, ctx.peer_settings(c, training, true));
      if (r.ok && !r.ms.empty()) row.time = summarize(r.ms);
      else row.status = "error: " + (r.error.empty() ? std::string("no timings") : r.error);
    }
    finish_row(ctx, peak_for(ctx, c), w.bytes, std::move(row), ctx.rows);
  }
}

void run_shape(Context& ctx, const ConvShape& s) {
  const Master master = make_master(s, s.B);
  const double ref_gflop = reference_gflop(s);
  const std::int64_t Bv = validation_extent(s.B, ref_gflop, ctx.validate_gflop);
  Reference ref(Bv == s.B ? master : make_master(s, Bv));

  for (const DtypeCase& c : ctx.dtypes) {
    set_math_mode(ctx.device, c.tf32 ? MathMode::AllowTf32 : MathMode::Default);
    Model model = instantiate(master, c.dtype, c.dtype, ctx.device, Upstream::Ones);
    const std::vector<ImplCase> impls = impls_for(s, ctx);
    // Validate every implementation first (both passes), then time pass by pass, so the rows of
    // one point sit together in the table.
    std::vector<Row> base(impls.size());
    for (std::size_t i = 0; i < impls.size(); ++i) {
      const ImplCase& ic = impls[i];
      Row& b = base[i];
      b.impl = impl_name(ic.impl);
      b.variant = ic.variant_name();
      b.device_name = ctx.device_name;
      b.validated_B = Bv;
      std::string why;
      try {
        if (!supported(ic, s, c.dtype, model, &why)) b.status = "unsupported: " + why;
        // The bench's oracle is the CPU row in F32 (the naive reference is too slow at full size;
        // the tests hold the two together).
        const bool is_oracle = ic.row == "cpu" && ic.path == Path::Conv && c.dtype == DType::F32;
        if (b.status == "ok" && is_oracle) b.rel_err = 0, b.status = "ok (oracle)";
        else if (b.status == "ok") b.status = validate(ref, s, c, ic, ctx.device, ctx.phases, &b.rel_err);
      } catch (const std::exception& e) {
        b.status = conv_error_status(e, ic);
      }
    }
    for (const std::string& phase : ctx.phases) {
      const bool training = phase == "fwd+bwd";
      const Work w = work_of(s, c.dtype, training);
      const Peak peak = peak_for(ctx, c);
      for (std::size_t i = 0; i < impls.size(); ++i) {
        const ImplCase& ic = impls[i];
        Row row = base[i];
        row.point = point_of(s, c, phase, ctx.device);
        row.gflop = w.gflop;
        if (is_ok(row.status)) {
          auto step = [&] { run_step(model, ic, training); };
          time_row(ctx, step, ctx.warmup, ctx.reps, &row,
                   [&](const std::exception& e) { return conv_error_status(e, ic); });
        }
        finish_row(ctx, peak, w.bytes, std::move(row), ctx.rows);
      }
    }
    if (ctx.wants_libtorch()) libtorch_rows(ctx, master, ref.master, s, c, Bv);
  }
  set_math_mode(ctx.device, MathMode::Default);
}

std::vector<std::int64_t> parse_widths(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    LOOM_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos,
               "--widths takes positive integers separated by commas, got '", text, "'");
    out.push_back(std::stoll(item));
  }
  LOOM_CHECK(!out.empty() && out.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
             "--widths needs 1 to ", ops::kMaxTextCnnWidths, " widths, got '", text, "'");
  return out;
}

// The shapes of a run: one point when a shape flag is given, else the --grid preset.
std::vector<ConvShape> shapes_for(const BenchRequest& r, bool block, bool gpu) {
  std::vector<std::vector<std::int64_t>> tbcf;  // T, B, C, F
  std::vector<std::int64_t> conv_widths;
  std::vector<std::int64_t> block_widths{3, 4, 5};
  if (r.batch || r.seq || r.input || r.filters || r.kernel || !r.widths.empty()) {
    tbcf = {{r.seq ? r.seq : 50, r.batch ? r.batch : 64, r.input ? r.input : 128, r.filters ? r.filters : 100}};
    conv_widths = {r.kernel ? r.kernel : 3};
    if (!r.widths.empty()) block_widths = parse_widths(r.widths);
  } else if (r.grid == "quick") {
    tbcf = {{20, 4, 16, 8}};
    conv_widths = {3};
  } else if (r.grid == "target" || r.grid == "targets") {
    tbcf = {{50, 64, 128, 100}};  // the CPU target point
    if (gpu) tbcf.push_back({100, 256, 300, 256});  // the grid's largest point: where GPUs are used
    conv_widths = {3};
    if (gpu) conv_widths.push_back(5);
  } else {
    for (std::int64_t b : {32, 64, 256})
      for (std::int64_t t : {50, 100})
        for (std::int64_t c : {128, 300})
          for (std::int64_t f : {100, 128, 256}) tbcf.push_back({t, b, c, f});
    conv_widths = {3, 4, 5};
  }
  std::vector<ConvShape> out;
  for (const auto& v : tbcf) {
    if (block) out.push_back({v[0], v[1], v[2], v[3], block_widths, true});
    else
      for (std::int64_t k : conv_widths) out.push_back({v[0], v[1], v[2], v[3], {k}, false});
  }
  return out;
}

}  // namespace

void run_conv_family(Context& ctx, bool block) {
  ctx.validate_gflop = ctx.req.validate_gflop > 0 ? ctx.req.validate_gflop : 10;
  const std::vector<ConvShape> shapes = shapes_for(ctx.req, block, ctx.device.is_cuda());
  ctx.notes.push_back(block ? "work: textcnn_fwd_cost (+ textcnn_bwd_cost: the SPARSE backward, so dense backwards "
                              "are not credited for zeros)"
                            : "work: conv1d_fwd_cost (+ conv1d_bwd_cost: dx, dW, db)");
  ctx.notes.push_back("validation: normwise max|a-e|/max|e| vs the CPU F32 path at validated_B, random dy "
                      "(libtorch: dy = ones)");
  ctx.shapes_summary = std::to_string(shapes.size()) + " shapes x " + std::to_string(ctx.dtypes.size()) +
                       " dtypes x " + std::to_string(ctx.phases.size()) + " passes";
  for (const ConvShape& s : shapes) run_shape(ctx, s);
}

// --report: the table of earlier runs, for comparisons that repeat each side in several processes
// (bench/run_cpu_compare.sh conv1d): the fastest run of each implementation at each point,
// libtorch's included, each loom row's speedup taken against that fastest libtorch run.
int conv_report(Context& ctx) {
  std::vector<Row> rows = best_of_runs(ctx.req.report);
  if (!ctx.req.torch_json.empty()) {  // the Python peer's timings, a second opinion
    const auto torch = load_torch_times(ctx.req.torch_json);
    for (Row& row : rows) {
      const auto t = torch.find(point_key(row));
      if (t == torch.end()) continue;
      row.torch = t->second;
      for (TorchTime& tt : row.torch) tt.pct_roofline = row.pct_roofline * row.time.median / tt.time.median;
      row.ratio_vs_torch = row.torch.front().time.median / row.time.median;
    }
  }
  std::map<std::string, double> libtorch;
  for (const Row& r : rows)
    if (r.impl == "libtorch" && is_ok(r.status)) libtorch[point_key(r)] = r.time.median;
  for (Row& r : rows) {
    const auto it = libtorch.find(point_key(r));
    if (r.impl == "libtorch" || it == libtorch.end()) continue;
    r.libtorch_ms = it->second;
    r.speedup_vs_libtorch = it->second / r.time.median;
  }
  ctx.out << "# report of " << ctx.req.report << ": the fastest run of each implementation at each point\n";
  print_table(ctx.out, rows);
  if (!ctx.req.markdown.empty()) {
    ctx.rows = rows;
    write_markdown(ctx, "# report of " + ctx.req.report + "\n", ctx.req.markdown);
  }
  return exit_status(rows);
}

}  // namespace loom::bench
