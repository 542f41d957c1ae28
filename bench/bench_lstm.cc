// bench/bench_lstm.cc: the LSTM benchmark. Every row of the LSTM variant table for the device
// (kernels/lstm/lstm_variants.h: on the CPU the plain-loop "reference" and the "cpu" training path;
// on the GPU "cuda-v1", "cuda-v2", "cudnn", "cudnn-persist" where legal) is validated against the CPU
// path first, then timed, and put side by side with torch.nn.LSTM timings from
// bench/torch_reference.py on the same points. The "reference" row, plain loops on one thread, is
// timed with 1 warm-up and at most 3 repetitions.
//
//   bench_lstm                                     the target points, on the GPU when there
//                                                  is one (--device auto), else on the CPU
//   bench_lstm --device cpu                        the CPU targets: B 64, T 50, C 128, H 256, uni and
//                                                  2-layer BiLSTM with variable lengths, fwd and fwd+bwd
//   bench_lstm --device cuda                       the GPU targets (H 256 and 512)
//   bench_lstm --device cuda --grid full           the whole grid (long: minutes to hours)
//   bench_lstm --quick                             a tiny grid for CI smoke
//   bench_lstm --H 512 --B 32 --T 100 --layers 2 --bidirectional --lengths variable
//   bench_lstm ... --json out.jsonl --torch-json torch.jsonl
//
// Every point: build inputs and weights from a fixed seed (torch's init, U(-1/sqrt(H), 1/sqrt(H))),
// run each implementation at the point's shape against the CPU F32 reference on the same values
// (inputs rounded to the tested dtype first, as tests/support/backends.h does), report the
// normwise relative error, and time only what passed. Forward-only runs under NoGradGuard;
// forward+backward records a Tape and seeds dy = ones, like torch's y.backward(ones), including
// the input gradient.
//
// Multi-layer and bidirectional points chain ops::lstm_seq per layer (each call runs both
// directions), the same thing layers::Lstm does, because the layer keeps F32 parameters and
// the bench must also run BF16/F16 storage end to end.
//
// Validation cost: the CPU reference of the grid's largest points is TFLOPs of work, and the GPU
// machine has no tuned BLAS. A point whose reference costs more than --validate-gflop is
// validated at the same B, C, H, L, D, dtype and lengths pattern with fewer time steps (printed
// as validated_T): the kernels run the same code per step, only the loop is shorter.
//
// Timing (bench/common/timer.h): CPU with steady_clock per repetition; GPU with CUDA events on
// loom's stream per repetition, the stream synchronized around each, wall time kept alongside.
// Without a GPU, --device cuda prints "skipped: no CUDA device" and exits 0.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ops/build_info.h"
#include "bench/common/report.h"
#include "bench/common/roofline.h"
#include "bench/common/timer.h"
#include "ops/autograd.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "ops/dispatch.h"
#include "ops/lstm.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"

namespace loom::bench {
namespace {

using kernels::LstmVariantRow;
using ops::Direction;

struct LstmShape {
  std::int64_t T = 50, B = 64, C = 128, H = 256;
  int L = 1, D = 1;
  bool variable = false;  // per-row lengths (else every row runs all T steps)
};

struct DtypeCase {
  DType dtype;
  bool tf32;
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
  std::uint64_t offset = 0;
  auto draw = [&](const loom::Shape& dims, float bound) {
    Tensor t = Tensor::uniform(dims, -bound, bound, kSeed, offset);
    offset += 2 * static_cast<std::uint64_t>(numel(dims));
    return t;
  };
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

using Named = std::vector<std::pair<std::string, std::vector<float>>>;

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

// Normwise: max |a - e| / max |e| per tensor, worst tensor named. Kernels that are wrong give O(1).
double worst_rel_err(const Named& got, const Named& ref, std::string* where) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& a = got[i].second;
    const auto& e = ref[i].second;
    LOOM_CHECK(a.size() == e.size(), "bench: ", got[i].first, " has ", a.size(), " values, reference ", e.size());
    double diff = 0, scale = 1e-30;
    for (std::size_t k = 0; k < a.size(); ++k) {
      diff = std::max(diff, std::fabs(static_cast<double>(a[k]) - e[k]));
      scale = std::max(scale, std::fabs(static_cast<double>(e[k])));
    }
    if (!(diff / scale <= worst)) worst = diff / scale, *where = got[i].first;  // NaN wins too
  }
  return worst;
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

struct Options {
  Device device = Device::cpu();
  std::vector<LstmShape> shapes;
  std::vector<DtypeCase> dtypes;
  std::vector<std::string> phases;
  std::vector<ImplCase> impls;
  int warmup = 3, reps = 20;
  double validate_gflop = 100;
  std::map<std::string, std::vector<TorchTime>> torch;
  std::ofstream json;
  std::string device_name;  // the GPU's name, or the CPU GEMM provider
  Peak cpu_peak;            // measured once at start (CPU runs only)
};

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
    const Named got = collect(m, out, sv, training);
    std::string w;
    const double e = worst_rel_err(got, Named(want.begin(), want.begin() + static_cast<long>(got.size())), &w);
    if (!(e <= *rel_err)) *rel_err = e, where = w + " " + phase;
  }
  if (*rel_err <= tolerance(c)) return "ok";
  char buf[160];
  std::snprintf(buf, sizeof buf, "FAIL: rel err %.2e > %.0e in %s", *rel_err, tolerance(c), where.c_str());
  return buf;
}

void emit(Options& opt, std::vector<Row>& rows, Row row) {
  if (opt.json.is_open()) opt.json << to_json(row).dump() << std::endl;
  std::fprintf(stderr, "%s %s%s: %s ms (p10 %s, p90 %s) %s\n", point_key(row).c_str(), row.impl.c_str(),
               row.variant.empty() ? "" : ("/" + row.variant).c_str(), fmt("%.3f", row.time.median).c_str(),
               fmt("%.3f", row.time.p10).c_str(), fmt("%.3f", row.time.p90).c_str(), row.status.c_str());
  rows.push_back(std::move(row));
}

// TF32 is a property of the device's context, read by every F32 GEMM (ours, cuBLAS, cuDNN).
void set_math_mode(Device device, [[maybe_unused]] MathMode mode) {
  if (device.is_cuda()) LOOM_IF_CUDA(cuda_context(device.index).math_mode = mode);
}

void run_shape(Options& opt, const LstmShape& s, std::vector<Row>& rows) {
  const Master master = make_master(s, s.T);
  Reference ref;
  const double ref_gflop = work_of(s, DType::F32, true).gflop;  // one fwd+bwd on the CPU
  ref.Tv = ref_gflop <= opt.validate_gflop
               ? s.T
               : std::max<std::int64_t>(std::min<std::int64_t>(s.T, 8),
                                        static_cast<std::int64_t>(s.T * opt.validate_gflop / ref_gflop));
  ref.master = ref.Tv == s.T ? master : make_master(s, ref.Tv);

  for (const DtypeCase& c : opt.dtypes) {
    set_math_mode(opt.device, c.tf32 ? MathMode::AllowTf32 : MathMode::Default);
    Model model = instantiate(master, s, c.dtype, c.dtype, opt.device);
    for (const ImplCase& ic : opt.impls) {
      Row base;
      base.impl = ic.name();
      base.variant = ic.variant_name();
      base.device_name = opt.device_name;
      base.validated_T = ref.Tv;
      std::string why;
      if (!supported(ic, s, c.dtype, model, &why)) base.status = "unsupported: " + why;
      // The CPU path at F32 is the bench's oracle (tests check it against the plain-loop reference).
      const bool is_oracle = std::string(ic.row->name) == "cpu" && c.dtype == DType::F32;
      try {
        if (base.status == "ok" && is_oracle) base.rel_err = 0, base.status = "ok (oracle)";
        else if (base.status == "ok") base.status = validate(ref, s, c, ic, opt.device, opt.phases, &base.rel_err);
      } catch (const std::exception& e) {
        base.status = std::string("error: ") + e.what();
      }
      for (const std::string& phase : opt.phases) {
        Row row = base;
        row.point = point_of(s, c, phase, opt.device);
        const bool training = phase == "fwd+bwd";
        const Work w = work_of(s, c.dtype, training);
        row.gflop = w.gflop;
        if (row.status.rfind("ok", 0) == 0) {
          const ops::LstmSeqOptions o = ic.options();
          auto step = [&] { training ? forward_backward(model, o) : forward_inference(model, o); };
          const int warmup = ic.is_reference_row() ? std::min(opt.warmup, 1) : opt.warmup;
          const int reps = ic.is_reference_row() ? std::min(opt.reps, 3) : opt.reps;
          try {
            if (opt.device.is_cpu()) {
              row.time = time_cpu(step, warmup, reps);
            } else {
              const GpuStats g = time_gpu(opt.device.index, step, warmup, reps);
              row.time = g.events;
              row.wall = g.wall;
            }
          } catch (const std::exception& e) {
            row.status = std::string("error: ") + e.what();
          }
        }
        const Peak peak = opt.device.is_cpu() ? opt.cpu_peak : gpu_peak(opt.device_name, c.dtype, c.tf32);
        row.tflops = row.gflop / (row.time.median * 1e-3) / 1e3;
        row.pct_roofline = pct_of_roofline(row.gflop * 1e9, w.bytes, row.time.median, peak);
        const auto t = opt.torch.find(point_key(row));
        if (t != opt.torch.end()) {
          row.torch = t->second;
          for (TorchTime& tt : row.torch)
            tt.pct_roofline = pct_of_roofline(row.gflop * 1e9, w.bytes, tt.time.median, peak);
          row.ratio_vs_torch = row.torch.front().time.median / row.time.median;
        }
        emit(opt, rows, row);
      }
    }
  }
  set_math_mode(opt.device, MathMode::Default);
}

std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "(unset)";
}

}  // namespace
}  // namespace loom::bench

int main(int argc, char** argv) {
  using namespace loom;
  using namespace loom::bench;
  loom::ensure_passive_openmp_wait(argv);  // measure what `loom` runs (core/parallel.h)
  CLI::App app{"loom LSTM benchmark: ours vs cuDNN vs torch.nn.LSTM (bench/torch_reference.py)"};
  std::string device_str = "auto", grid = "targets", dtype_str, tf32_str, lengths_str = "all", phase_str = "all";
  std::string impl_str = "all", json_path, torch_path;
  bool quick = false, bidirectional = false;
  std::int64_t H = 0, B = 0, T = 0, C = 0;
  int layers = 0, threads = 0, reps = 0, warmup = -1;
  double validate_gflop = 100, cpu_peak_gflops = 0;
  app.add_option("--device", device_str, "auto (cuda:0 when there is a GPU, else cpu) | cpu | cuda | cuda:N");
  app.add_flag("--quick", quick, "a tiny grid with few repetitions (CI smoke)");
  app.add_option("--grid", grid, "targets (the issue's target points) | full (the issue's whole grid)")
      ->check(CLI::IsMember({"targets", "full"}));
  app.add_option("--H", H, "one point: hidden size");
  app.add_option("--B", B, "one point: batch");
  app.add_option("--T", T, "one point: time steps");
  app.add_option("--C", C, "one point: input features");
  app.add_option("--layers", layers, "one point: number of layers");
  app.add_flag("--bidirectional", bidirectional, "one point: two directions per layer");
  app.add_option("--dtype", dtype_str, "f32 | bf16 | f16 | all (default: f32 on cpu, all on cuda)")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "all"}));
  app.add_option("--tf32", tf32_str, "TF32 for F32 points: off | on | both (default: off on cpu, both on cuda)")
      ->check(CLI::IsMember({"off", "on", "both"}));
  app.add_option("--lengths", lengths_str, "fixed | variable | all")
      ->check(CLI::IsMember({"fixed", "variable", "all"}));
  app.add_option("--phase", phase_str, "fwd | fwd+bwd | all")->check(CLI::IsMember({"fwd", "fwd+bwd", "all"}));
  app.add_option("--impl", impl_str,
                 "all | cpu | cuda | cudnn (the rows of that kind) | one row of the variant table by name "
                 "(reference, cpu, cuda-v1, cuda-v2, cudnn, cudnn-persist)");
  app.add_option("--threads", threads, "CPU threads (default: LOOM_NUM_THREADS or all cores)");
  app.add_option("--reps", reps, "timed repetitions (default 20 cpu, 100 cuda; 5 with --quick)");
  app.add_option("--warmup", warmup, "untimed repetitions first (default 3 cpu, 10 cuda; 1 with --quick)");
  app.add_option("--validate-gflop", validate_gflop, "largest CPU reference run at full T (GFLOP)");
  app.add_option("--cpu-peak", cpu_peak_gflops,
                 "CPU roofline in GFLOP/s instead of measuring an sgemm at start (on a loaded machine the "
                 "measurement reads low and every percentage high)");
  app.add_option("--json", json_path, "append one JSON line per point to this file");
  app.add_option("--torch-json", torch_path, "torch_reference.py output to compare with");
  CLI11_PARSE(app, argc, argv);

  try {
    Options opt;
    if (device_str == "auto") device_str = cuda_device_count() > 0 ? "cuda" : "cpu";
    opt.device = parse_device(device_str);
    const bool gpu = opt.device.is_cuda();
    if (gpu && cuda_device_count() <= opt.device.index) {
      std::printf("skipped: no CUDA device (%s)\n", cuda_unavailable_reason().c_str());
      return 0;
    }
    if (threads > 0) set_num_threads(threads);
    opt.reps = reps > 0 ? reps : quick ? 5 : gpu ? 100 : 20;
    opt.warmup = warmup >= 0 ? warmup : quick ? 1 : gpu ? 10 : 3;
    opt.validate_gflop = validate_gflop;

    // Shapes: one point, or a grid. Each grid entry pairs a layout with the lengths it is run with.
    std::vector<LstmShape> grid_shapes;
    if (H || B || T || C || layers || bidirectional) {
      LstmShape s;
      s.H = H ? H : s.H, s.B = B ? B : s.B, s.T = T ? T : s.T, s.C = C ? C : s.C;
      s.L = layers ? layers : 1, s.D = bidirectional ? 2 : 1;
      for (bool v : {false, true}) grid_shapes.push_back(s), grid_shapes.back().variable = v;
      if (lengths_str == "all") lengths_str = "fixed";  // one point means one lengths setting unless asked
    } else if (quick) {
      for (int ld : {1, 2})
        for (bool v : {false, true}) grid_shapes.push_back({20, 8, 32, 64, ld, ld, v});
    } else if (grid == "targets") {
      for (std::int64_t h : gpu ? std::vector<std::int64_t>{256, 512} : std::vector<std::int64_t>{256}) {
        grid_shapes.push_back({50, 64, 128, h, 1, 1, false});  // the uni-directional target
        grid_shapes.push_back({50, 64, 128, h, 2, 2, true});   // the packed BiLSTM target
      }
    } else {
      for (std::int64_t h : {128, 256, 512, 1024})
        for (std::int64_t b : {1, 32, 64, 256})
          for (std::int64_t t : {50, 100})
            for (int ld : {1, 2})
              for (bool v : {false, true}) grid_shapes.push_back({t, b, 128, h, ld, ld, v});
    }
    for (const LstmShape& s : grid_shapes)
      if (lengths_str == "all" || (lengths_str == "variable") == s.variable) opt.shapes.push_back(s);

    if (dtype_str.empty()) dtype_str = gpu ? "all" : "f32";
    if (tf32_str.empty()) tf32_str = gpu ? "both" : "off";
    LOOM_CHECK(gpu || tf32_str == "off", "bench_lstm: --tf32 ", tf32_str, " needs --device cuda");
    if (dtype_str == "f32" || dtype_str == "all") {
      if (tf32_str != "on") opt.dtypes.push_back({DType::F32, false});
      if (tf32_str != "off") opt.dtypes.push_back({DType::F32, true});
    }
    if (dtype_str == "bf16" || dtype_str == "all") opt.dtypes.push_back({DType::BF16, false});
    if (dtype_str == "f16" || dtype_str == "all") opt.dtypes.push_back({DType::F16, false});
    opt.phases = phase_str == "all" ? std::vector<std::string>{"fwd", "fwd+bwd"} : std::vector<std::string>{phase_str};
    for (const LstmVariantRow& row : kernels::lstm_variants()) {
      const ImplCase ic{&row};
      if (row.device != opt.device.type) continue;
      if (impl_str == "all" || impl_str == ic.name() || impl_str == row.name) opt.impls.push_back(ic);
    }
    LOOM_CHECK(!opt.impls.empty(), "bench_lstm: --impl ", impl_str, " has nothing to run on ", opt.device.str());
    if (!torch_path.empty()) opt.torch = load_torch_times(torch_path);
    if (!json_path.empty()) {
      opt.json.open(json_path, std::ios::app);
      LOOM_CHECK(opt.json.good(), "bench_lstm: cannot write ", json_path);
    }

    // Everything a reader needs to trust the numbers, before the numbers.
    std::printf("# loom bench_lstm on %s\n", opt.device.str().c_str());
    std::istringstream info(build_info_text(build_info()));
    for (std::string line; std::getline(info, line);) std::printf("# %s\n", line.c_str());
    std::printf("# threads %d; BLAS %s; OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s "
                "OMP_WAIT_POLICY=%s LOOM_NUM_THREADS=%s\n",
                num_threads(), kernels::cpu_gemm_provider().c_str(), env_or_unset("OPENBLAS_CORETYPE").c_str(),
                env_or_unset("OPENBLAS_NUM_THREADS").c_str(), env_or_unset("OMP_NUM_THREADS").c_str(),
                env_or_unset("OMP_WAIT_POLICY").c_str(), env_or_unset("LOOM_NUM_THREADS").c_str());
    opt.device_name = gpu ? build_info().devices.at(opt.device.index).name : kernels::cpu_gemm_provider();
    if (!gpu) {
      opt.cpu_peak = cpu_peak_gflops > 0 ? Peak{cpu_peak_gflops * 1e9, 0, fmt("given with --cpu-peak: %.1f GFLOP/s",
                                                                              cpu_peak_gflops)}
                                         : cpu_peak(measure_cpu_sgemm_gflops(2048, quick ? 2 : 5));
      std::printf("# roofline: %s on %d threads\n", opt.cpu_peak.source.c_str(), num_threads());
      std::printf("# timer: steady_clock per repetition; %d warm-up, %d timed; median and p10/p90\n", opt.warmup,
                  opt.reps);
    } else {
      for (const char* p : {"f32", "tf32", "bf16/f16"}) {
        const DType dt = std::string(p) == "bf16/f16" ? DType::BF16 : DType::F32;
        std::printf("# roofline %s: %s\n", p, gpu_peak(opt.device_name, dt, std::string(p) == "tf32").source.c_str());
      }
      std::printf("# timer: CUDA events on loom's stream per repetition, stream synchronized before and after "
                  "(wall time in the JSON); %d warm-up, %d timed; median and p10/p90\n",
                  opt.warmup, opt.reps);
    }
    std::printf("# %zu shapes x %zu dtypes x %zu phases x %zu implementations%s\n", opt.shapes.size(),
                opt.dtypes.size(), opt.phases.size(), opt.impls.size(),
                opt.torch.empty() ? ""
                                  : (", torch timings for " + std::to_string(opt.torch.size()) + " points").c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    for (const LstmShape& s : opt.shapes) run_shape(opt, s, rows);
    std::printf("\n");
    print_markdown(std::cout, rows);
    for (const Row& r : rows)
      if (r.status.rfind("FAIL", 0) == 0 || r.status.rfind("error", 0) == 0) return 1;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_lstm: %s\n", e.what());
    return 1;
  }
}
