// bench/engine/engine.cc: run_bench(), the one entry of every benchmark. It turns a BenchRequest
// into the run's settings (device, dtypes, passes, repetitions, threads, the CPU roofline),
// writes the header a reader needs to trust the numbers, runs one family, joins every row with
// the libtorch row of its point (speedup = libtorch's median / ours), and writes the outputs.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "bench/engine/engine.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "ops/build_info.h"

namespace loom::bench {

bool Context::wants(const std::string& row, const std::string& kind) const {
  for (const std::string& i : req.impls)
    if (i == "all" || i == row || (i == kind && kind != "cpu")) return true;
  return false;
}

bool Context::wants_libtorch() const {
  for (const std::string& i : req.impls)
    if (i == "all" || i == "libtorch") return true;
  return false;
}

torch_peer::Settings Context::peer_settings(const DtypeCase& c, bool backward, bool timed) const {
  torch_peer::Settings s;
  s.device = device.is_cuda() ? "cuda" : "cpu";
  s.dtype = dtype_name(c.dtype);
  s.backward = backward;
  s.threads = num_threads();
  s.warmup = timed ? warmup : 0;
  s.reps = timed ? reps : 1;
  s.budget_s = timed ? budget_s : 0;
  return s;
}

double named_rel_err(const Named& got, const Named& want, std::string* where) {
  Named matched;
  for (const auto& output : got) {
    // (Not a structured binding: C++17 lambdas cannot capture one, and clang refuses it.)
    const std::string& name = output.first;
    const auto it = std::find_if(want.begin(), want.end(), [&](const auto& w) { return w.first == name; });
    LOOM_CHECK(it != want.end(), "bench: the reference has no output named ", name);
    matched.push_back(*it);
  }
  return worst_rel_err(got, matched, where);
}

Row libtorch_unavailable_row(const Context& ctx, const std::string& why) {
  Row r;
  r.impl = "libtorch";
  r.device_name = ctx.device_name;
  r.status = "unavailable: " + why;
  return r;
}

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      std::string m = colon == std::string::npos ? line : line.substr(colon + 1);
      m.erase(0, m.find_first_not_of(' '));
      return m;
    }
  return "unknown CPU";
}

std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "(unset)";
}

// Fills ctx from the request; false when the run is skipped (--device cuda without a GPU).
bool resolve(Context& ctx) {
  const BenchRequest& r = ctx.req;
  std::string device = r.device;
  if (device == "auto") device = cuda_device_count() > 0 ? "cuda" : "cpu";
  ctx.device = parse_device(device);
  const bool gpu = ctx.device.is_cuda();
  if (gpu && cuda_device_count() <= ctx.device.index) {
    ctx.out << "skipped: no CUDA device (" << cuda_unavailable_reason() << ")\n";
    return false;
  }
  if (r.threads > 0) set_num_threads(r.threads);
  const bool quick = r.grid == "quick";
  ctx.reps = r.repeats > 0 ? r.repeats : r.budget_s > 0 ? 1000000 : quick ? 5 : gpu ? 100 : 20;
  ctx.warmup = r.warmup >= 0 ? r.warmup : quick ? 1 : gpu ? 10 : 3;
  ctx.budget_s = r.budget_s;
  ctx.log = &ctx.err;

  std::vector<std::string> dtypes = r.dtypes;
  // GPU defaults: every storage type for the LSTM; F32 and BF16 for the convolutions (as before).
  const bool conv = r.family == "conv1d" || r.family == "textcnn";
  if (dtypes.empty())
    dtypes = !gpu ? std::vector<std::string>{"f32"} : conv ? std::vector<std::string>{"f32", "bf16"}
                                                           : std::vector<std::string>{"all"};
  std::string tf32 = r.tf32.empty() ? (gpu ? "both" : "off") : r.tf32;
  LOOM_CHECK(gpu || tf32 == "off", "--tf32 ", tf32, " needs --device cuda");
  auto wants = [&](const char* d) {
    return std::any_of(dtypes.begin(), dtypes.end(), [&](const std::string& s) { return s == d || s == "all"; });
  };
  if (wants("f32")) {
    if (tf32 != "on") ctx.dtypes.push_back({DType::F32, false});
    if (tf32 != "off") ctx.dtypes.push_back({DType::F32, true});
  }
  if (wants("bf16")) ctx.dtypes.push_back({DType::BF16, false});
  if (wants("f16")) ctx.dtypes.push_back({DType::F16, false});
  if (r.pass == "both" || r.pass == "all") ctx.phases = {"fwd", "fwd+bwd"};
  else ctx.phases = {r.pass};
  if (!r.torch_json.empty()) ctx.torch = load_torch_times(r.torch_json);
  if (!r.jsonl.empty()) {
    ctx.json.open(r.jsonl, std::ios::app);
    LOOM_CHECK(ctx.json.good(), "--jsonl: cannot write ", r.jsonl);
  }
  ctx.device_name = gpu ? build_info().devices.at(static_cast<std::size_t>(ctx.device.index)).name
                        : kernels::cpu_gemm_provider();
  if (!gpu)
    ctx.cpu_peak = r.cpu_peak_gflops > 0
                       ? Peak{r.cpu_peak_gflops * 1e9, 0, fmt("given with --cpu-peak: %.1f GFLOP/s", r.cpu_peak_gflops)}
                       : cpu_peak(measure_cpu_sgemm_gflops(quick ? 512 : 2048, quick ? 2 : 5));
  return true;
}

// The rows of one point together (first appearance order), implementations in the order run:
// the families run implementation by implementation, a reader compares within a point.
void group_by_point(std::vector<Row>& rows) {
  std::map<std::string, std::size_t> order;
  for (const Row& r : rows) order.emplace(point_key(r), order.size());
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const Row& a, const Row& b) { return order.at(point_key(a)) < order.at(point_key(b)); });
}

// A loom row's speedup over the libtorch row of the same point (when that row was timed).
void join_libtorch(std::vector<Row>& rows) {
  std::map<std::string, double> libtorch;
  for (const Row& r : rows)
    if (r.impl == "libtorch" && is_ok(r.status) && std::isfinite(r.time.median)) libtorch[point_key(r)] = r.time.median;
  for (Row& r : rows) {
    if (r.impl == "libtorch") continue;
    const auto it = libtorch.find(point_key(r));
    if (it == libtorch.end()) continue;
    r.libtorch_ms = it->second;
    r.speedup_vs_libtorch = it->second / r.time.median;
  }
}

}  // namespace

std::string header_text(const Context& ctx) {
  std::ostringstream h;
  const bool gpu = ctx.device.is_cuda();
  h << "# " << ctx.req.command_line << "\n";
  h << "# loom bench " << ctx.req.family << " on " << ctx.device.str() << "; machine: " << cpu_model() << ", "
    << std::thread::hardware_concurrency() << " cores visible, " << num_threads() << " threads"
    << (gpu ? "; GPU " + ctx.device_name : std::string()) << "\n";
  std::istringstream info(build_info_text(build_info()));
  for (std::string line; std::getline(info, line);) h << "# " << line << "\n";
  h << "# BLAS " << kernels::cpu_gemm_provider() << "; OPENBLAS_NUM_THREADS=" << env_or_unset("OPENBLAS_NUM_THREADS")
    << " OMP_NUM_THREADS=" << env_or_unset("OMP_NUM_THREADS") << " OMP_WAIT_POLICY=" << env_or_unset("OMP_WAIT_POLICY")
    << " LOOM_NUM_THREADS=" << env_or_unset("LOOM_NUM_THREADS") << "\n";
  if (!gpu && kernels::cpu_gemm_has_own_threads() && env_or_unset("OMP_WAIT_POLICY") != "passive")
    h << "# WARNING: OMP_WAIT_POLICY is not passive: spinning OpenMP threads slow OpenBLAS's GEMMs after them\n";
  h << "# libtorch: " << torch_peer::version() << "\n";  // its version, or why there is no peer
  if (!gpu) {
    h << "# roofline: " << ctx.cpu_peak.source << " on " << num_threads() << " threads\n";
    h << "# timer: steady_clock per repetition; " << ctx.warmup << " warm-up, "
      << (ctx.budget_s > 0 ? fmt("a %.1f s budget", ctx.budget_s) : std::to_string(ctx.reps))
      << " timed; median and p10/p90\n";
  } else {
    for (const char* p : {"f32", "tf32", "bf16/f16"}) {
      const DType dt = std::string(p) == "bf16/f16" ? DType::BF16 : DType::F32;
      h << "# roofline " << p << ": " << gpu_peak(ctx.device_name, dt, std::string(p) == "tf32").source << "\n";
    }
    h << "# timer: CUDA events on loom's stream per repetition, stream synchronized around each; " << ctx.warmup
      << " warm-up, " << (ctx.budget_s > 0 ? fmt("a %.1f s budget", ctx.budget_s) : std::to_string(ctx.reps))
      << " timed; median and p10/p90\n";
  }
  for (const std::string& n : ctx.notes) h << "# " << n << "\n";
  if (!ctx.shapes_summary.empty()) h << "# " << ctx.shapes_summary << "\n";
  return h.str();
}

BenchTestHooks& bench_test_hooks() {
  static BenchTestHooks hooks;
  return hooks;
}

int run_bench(const BenchRequest& request, std::ostream& out, std::ostream& err) {
  Context ctx(request, out, err);
  if (!request.report.empty()) return conv_report(ctx);
  if (!resolve(ctx)) return 0;
  if (request.family == "lstm") run_lstm_family(ctx);
  else if (request.family == "conv1d") run_conv_family(ctx, false);
  else if (request.family == "textcnn") run_conv_family(ctx, true);
  else if (request.family == "step") run_step_family(ctx);
  else LOOM_CHECK(false, "loom bench: unknown family '", request.family, "'");
  set_math_mode(ctx.device, MathMode::Default);
  group_by_point(ctx.rows);
  join_libtorch(ctx.rows);
  const std::string header = header_text(ctx);
  out << header << "\n";
  print_table(out, ctx.rows);
  if (!request.markdown.empty()) write_markdown(ctx, header, request.markdown);
  if (!request.json.empty()) write_json(ctx, request.json);
  return exit_status(ctx.rows);
}

}  // namespace loom::bench
