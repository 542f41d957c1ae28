// bench/bench_conv1d.cc: the Conv1d and text-CNN block benchmark. Every row of the variant tables
// (kernels/conv1d/conv1d_variants.h) checked against the CPU row in F32 (the oracle) first, then
// timed, and put side by side with torch.nn.Conv1d (+ ReLU + amax over time for the block) from
// bench/torch_reference_conv.py on the same points. Harness, timer and JSON schema as bench_lstm.
//
//   bench_conv1d                                 the target points, on the GPU when there is one
//                                                (--device auto), else on the CPU
//   bench_conv1d --device cpu                    the CPU target: B 64, T 50, C 128, F 100; conv K 3
//                                                and the block of widths 3, 4, 5; fwd and fwd+bwd
//   bench_conv1d --device cuda --grid full       the grid: B {32,64,256} x T {50,100} x
//                                                C {128,300} x F {100,128,256}, conv K {3,4,5} and
//                                                the block 3,4,5 x F (long)
//   bench_conv1d --quick                         a tiny grid for CI smoke
//   bench_conv1d --op conv --B 64 --T 50 --C 300 --F 100 --K 3
//   bench_conv1d --op block --widths 3,4,5 --F 100 ...
//   bench_conv1d ... --json out.jsonl --torch-json torch.jsonl
//   bench_conv1d --report out.jsonl --torch-json torch.jsonl   the table of earlier runs (fastest run
//                                                per implementation and point), nothing run
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
// Timing (bench/common/timer.h): CPU with steady_clock per repetition; GPU with CUDA events on
// loom's stream, the stream synchronized around each repetition, wall time kept alongside.
// Without a GPU, --device cuda prints "skipped: no CUDA device" and exits 0.
//
// OMP_WAIT_POLICY: libgomp reads it once at load time, so main() restarts the bench with passive
// when it is unset, as the `loom` binary does (core/parallel.h); the header prints it and warns on
// the CPU when a caller set something else, because spinning OpenMP threads slow the GEMMs after them.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/common/options.h"
#include "bench/common/run.h"
#include "bench/bench_conv1d_model.h"
#include "core/device.h"
#include "ops/dispatch.h"
#include "core/parallel.h"

namespace loom::bench {
namespace {

// The shared settings (bench/common/run.h) and what this family adds: its shapes.
struct Options : RunSettings {
  std::vector<ConvShape> shapes;
};

// The rows of a variant table that run on this device and pass --impl (cpu rows always do).
template <class Row>
std::vector<std::string> rows_for(const std::vector<Row>& table, const Options& opt) {
  const std::string& f = opt.impl;
  std::vector<std::string> out;
  for (const Row& r : table) {
    const std::string name = r.name;
    if ((r.device == DeviceType::Cpu) != opt.device.is_cpu()) continue;
    const bool is_cudnn = name == "cudnn";
    const bool wanted = f == "all" || (f == "cudnn" && is_cudnn) || (f == "cuda" && !is_cudnn);
    if (!opt.device.is_cpu() && !wanted) continue;
    out.push_back(name);
  }
  return out;
}

// The implementations a shape is run with on this device, in table order: every row of the
// kernel family's tables (a new row is benchmarked as soon as the ops can select it).
std::vector<ImplCase> impls_for(const ConvShape& s, const Options& opt) {
  std::vector<ImplCase> out;
  auto add = [&](const std::string& row, Path path) {
    ImplCase ic;
    if (impl_case_of(row, path, &ic)) out.push_back(ic);
    else std::fprintf(stderr, "bench_conv1d: row %s has no ops selection yet; not run\n", row.c_str());
  };
  if (s.block)
    for (const std::string& row : rows_for(kernels::textcnn_variants(), opt)) add(row, Path::Fused);
  for (const std::string& row : rows_for(kernels::conv1d_variants(), opt))
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

ConvPoint point_of(const ConvShape& s, const DtypeCase& c, const std::string& phase, Device device) {
  ConvPoint p;
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
std::string error_status(const std::exception& e, const ImplCase& ic) {
  const std::string what = e.what();
  if (ic.impl == Impl::Cudnn && dynamic_cast<const CudnnError*>(&e) && what.find("NOT_SUPPORTED") != std::string::npos)
    return "unsupported: " + what;
  return "error: " + what;
}

void run_shape(Options& opt, const ConvShape& s, std::vector<ConvRow>& rows) {
  const Master master = make_master(s, s.B);
  const double ref_gflop = reference_gflop(s);
  const std::int64_t Bv = validation_extent(s.B, ref_gflop, opt.validate_gflop);
  Reference ref(Bv == s.B ? master : make_master(s, Bv));

  for (const DtypeCase& c : opt.dtypes) {
    set_math_mode(opt.device, c.tf32 ? MathMode::AllowTf32 : MathMode::Default);
    Model model = instantiate(master, c.dtype, c.dtype, opt.device, Upstream::Ones);
    const std::vector<ImplCase> impls = impls_for(s, opt);
    // Validate every implementation first (both phases), then time phase by phase, so the rows of
    // one point sit together in the table with torch's row after them.
    std::vector<ConvRow> base(impls.size());
    for (std::size_t i = 0; i < impls.size(); ++i) {
      const ImplCase& ic = impls[i];
      ConvRow& b = base[i];
      b.impl = impl_name(ic.impl);
      b.variant = ic.variant_name();
      b.device_name = opt.device_name;
      b.validated_B = Bv;
      std::string why;
      try {
        if (!supported(ic, s, c.dtype, model, &why)) b.status = "unsupported: " + why;
        // The bench's oracle is the CPU row in F32 (the naive reference is too slow at full size;
        // the tests hold the two together).
        const bool is_oracle = ic.row == "cpu" && ic.path == Path::Conv && c.dtype == DType::F32;
        if (b.status == "ok" && is_oracle) b.rel_err = 0, b.status = "ok (oracle)";
        else if (b.status == "ok") b.status = validate(ref, s, c, ic, opt.device, opt.phases, &b.rel_err);
      } catch (const std::exception& e) {
        b.status = error_status(e, ic);
      }
    }
    for (const std::string& phase : opt.phases) {
      const bool training = phase == "fwd+bwd";
      const Work w = work_of(s, c.dtype, training);
      const Peak peak = peak_for(opt, c);
      for (std::size_t i = 0; i < impls.size(); ++i) {
        const ImplCase& ic = impls[i];
        ConvRow row = base[i];
        row.point = point_of(s, c, phase, opt.device);
        row.gflop = w.gflop;
        if (row.status.rfind("ok", 0) == 0) {
          auto step = [&] { run_step(model, ic, training); };
          time_row(opt, step, opt.warmup, opt.reps, &row, [&](const std::exception& e) { return error_status(e, ic); });
        }
        finish_row(opt, peak, w.bytes, std::move(row), rows);
      }
    }
  }
  set_math_mode(opt.device, MathMode::Default);
}

std::vector<std::int64_t> parse_widths(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    LOOM_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos,
               "bench_conv1d: --widths takes positive integers separated by commas, got '", text, "'");
    out.push_back(std::stoll(item));
  }
  LOOM_CHECK(!out.empty() && out.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
             "bench_conv1d: --widths needs 1 to ", ops::kMaxTextCnnWidths, " widths, got '", text, "'");
  return out;
}

// The shapes of a run: one point, --quick, the target points, or the grid. Conv shapes
// first, then blocks, so each half of the table reads in one direction.
std::vector<ConvShape> shapes_for(const std::string& op, bool single, bool quick, const std::string& grid, bool gpu,
                                  const ConvShape& point, std::int64_t K) {
  std::vector<std::vector<std::int64_t>> tbcf;  // T, B, C, F
  std::vector<std::int64_t> conv_widths;
  if (single) {
    tbcf = {{point.T, point.B, point.C, point.F}};
    conv_widths = {K};
  } else if (quick) {
    tbcf = {{20, 4, 16, 8}};
    conv_widths = {3};
  } else if (grid == "targets") {
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
  if (op != "block")
    for (const auto& v : tbcf)
      for (std::int64_t k : conv_widths) out.push_back({v[0], v[1], v[2], v[3], {k}, false});
  if (op != "conv")
    for (const auto& v : tbcf) out.push_back({v[0], v[1], v[2], v[3], single ? point.widths : std::vector<std::int64_t>{3, 4, 5}, true});
  return out;
}

// --report: the table of earlier runs, for comparisons that repeat each side in several processes
// (bench/run_cpu_compare.sh conv1d). A torch row's % of roofline is scaled from loom's row at the
// same point (same work, same peak).
int report_main(const std::string& report_path, const std::string& torch_path) {
  std::vector<ConvRow> rows = best_of_runs(report_path);
  const auto torch = torch_path.empty() ? std::map<std::string, std::vector<TorchTime>>{} : load_conv_torch_times(torch_path);
  for (ConvRow& row : rows) {
    const auto t = torch.find(conv_point_key(row));
    if (t == torch.end()) continue;
    row.torch = t->second;
    for (TorchTime& tt : row.torch) tt.pct_roofline = row.pct_roofline * row.time.median / tt.time.median;
    row.ratio_vs_torch = row.torch.front().time.median / row.time.median;
  }
  std::printf("# report of %s%s: the fastest run of each implementation at each point\n", report_path.c_str(),
              torch_path.empty() ? "" : (" joined with " + torch_path).c_str());
  print_conv_markdown(std::cout, rows);
  return exit_status(rows);
}

}  // namespace
}  // namespace loom::bench

int main(int argc, char** argv) {
  loom::ensure_passive_openmp_wait(argv);  // measure what `loom` runs (core/parallel.h)
  using namespace loom;
  using namespace loom::bench;
  CLI::App app{"loom Conv1d / text-CNN benchmark: ours vs cuDNN vs torch (bench/torch_reference_conv.py)"};
  DriverSpec spec;
  spec.name = "bench_conv1d";
  spec.gpu_dtypes = {"f32", "bf16"};
  spec.validate_gflop = 10;
  spec.validate_help = "largest CPU reference run at the full batch (GFLOP)";
  spec.impl_help = "all | cpu | cuda | cudnn";
  spec.torch_help = "torch_reference_conv.py output to compare with";
  spec.torch_families = {"conv1d", "textcnn"};
  CommonFlags flags;
  add_common_options(app, flags, spec)->check(CLI::IsMember({"all", "cpu", "cuda", "cudnn"}));
  std::string op = "all", widths_str = "3,4,5", report_path;
  std::int64_t B = 0, T = 0, C = 0, F = 0, K = 0;
  app.add_option("--op", op, "conv (the convolution alone) | block (the text-CNN block) | all")
      ->check(CLI::IsMember({"conv", "block", "all"}));
  app.add_option("--B", B, "one point: batch (default 64)");
  app.add_option("--T", T, "one point: time steps (default 50)");
  app.add_option("--C", C, "one point: input channels (default 128)");
  app.add_option("--F", F, "one point: filters per width (default 100)");
  app.add_option("--K", K, "one point: kernel width of the plain conv (default 3)");
  app.add_option("--widths", widths_str, "one point: the block's kernel widths, comma-separated (default 3,4,5)");
  app.add_option("--report", report_path,
                 "run nothing: print the table of a --json file from one or more runs (the fastest run of "
                 "each implementation at each point), joined with --torch-json");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!report_path.empty()) return report_main(report_path, flags.torch);
    Options opt;
    if (!resolve(flags, spec, &opt)) return 0;
    const bool gpu = opt.device.is_cuda();
    LOOM_CHECK(gpu || opt.impl == "all" || opt.impl == "cpu", "bench_conv1d: --impl ", opt.impl, " needs --device cuda");

    const bool single = B || T || C || F || K || app.count("--widths");
    ConvShape point{T ? T : 50, B ? B : 64, C ? C : 128, F ? F : 100, parse_widths(widths_str), false};
    opt.shapes = shapes_for(op, single, flags.quick, flags.grid, gpu, point, K ? K : 3);

    print_header(opt, spec, flags,
                 {"work: conv = conv1d_fwd_cost (+ conv1d_bwd_cost: dx, dW, db); block = textcnn_fwd_cost "
                  "(+ textcnn_bwd_cost: the SPARSE backward, so dense backwards are not credited for zeros)"},
                 std::to_string(opt.shapes.size()) + " shapes x " + std::to_string(opt.dtypes.size()) + " dtypes x " +
                     std::to_string(opt.phases.size()) + " phases");
    std::vector<ConvRow> rows;
    for (const ConvShape& s : opt.shapes) run_shape(opt, s, rows);
    return print_table(rows);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_conv1d: %s\n", e.what());
    return 1;
  }
}
