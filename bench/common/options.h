// bench/common/options.h: the command line every bench driver shares, and what it resolves to.
// add_common_options() declares the flags (--device, --quick, --grid, --dtype, --tf32, --phase, --impl,
// --threads, --reps, --warmup, --validate-gflop, --cpu-peak, --json, --torch-json); resolve() turns
// them into RunSettings (device "auto", the skip without a GPU, thread count, repetition defaults,
// the dtype and TF32 cases); print_header() writes what a reader needs to trust the numbers
// before the numbers. A driver adds its family's own flags (one point's shape) beside these, and
// builds its grid from --grid and --quick.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/common/run.h"
#include "core/cuda_context.h"
#include "core/device.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "ops/build_info.h"

namespace loom::bench {

// What differs between the drivers in the shared flags: names, defaults and help texts.
struct DriverSpec {
  std::string name;                          // "bench_lstm": prefixes messages, names the header
  std::vector<std::string> gpu_dtypes;       // --dtype default on cuda (f32 alone on the CPU)
  double validate_gflop = 10;                // --validate-gflop default
  std::string validate_help;                 // what --validate-gflop bounds
  std::string impl_help;                     // what --impl accepts
  std::string torch_help;                    // which script's output --torch-json takes
  std::vector<std::string> torch_families;   // the families kept from a --torch-json file
};

// The shared flags as parsed.
struct CommonFlags {
  std::string device = "auto", grid = "targets", tf32, phase = "all", impl = "all", json, torch;
  std::vector<std::string> dtypes;
  bool quick = false;
  int threads = 0, reps = 0, warmup = -1;
  double validate_gflop = 10, cpu_peak_gflops = 0;
};

// Declares the shared flags on `app`; returns --impl so a driver can restrict its values.
inline CLI::Option* add_common_options(CLI::App& app, CommonFlags& f, const DriverSpec& spec) {
  f.validate_gflop = spec.validate_gflop;
  std::string gpu_dtypes;
  for (const std::string& d : spec.gpu_dtypes) gpu_dtypes += (gpu_dtypes.empty() ? "" : " ") + d;
  app.add_option("--device", f.device, "auto (cuda:0 when there is a GPU, else cpu) | cpu | cuda | cuda:N");
  app.add_flag("--quick", f.quick, "a tiny grid with few repetitions (CI smoke)");
  app.add_option("--grid", f.grid, "targets (the issue's target points) | full (the issue's whole grid)")
      ->check(CLI::IsMember({"targets", "full"}));
  app.add_option("--dtype", f.dtypes, "f32 bf16 f16 or all, one or more (default: f32 on cpu, " + gpu_dtypes + " on cuda)")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "all"}));
  app.add_option("--tf32", f.tf32, "TF32 for F32 points: off | on | both (default: off on cpu, both on cuda)")
      ->check(CLI::IsMember({"off", "on", "both"}));
  app.add_option("--phase", f.phase, "fwd | fwd+bwd | all")->check(CLI::IsMember({"fwd", "fwd+bwd", "all"}));
  CLI::Option* impl = app.add_option("--impl", f.impl, spec.impl_help);
  app.add_option("--threads", f.threads, "CPU threads (default: LOOM_NUM_THREADS or all cores)");
  app.add_option("--reps", f.reps, "timed repetitions (default 20 cpu, 100 cuda; 5 with --quick)");
  app.add_option("--warmup", f.warmup, "untimed repetitions first (default 3 cpu, 10 cuda; 1 with --quick)");
  app.add_option("--validate-gflop", f.validate_gflop, spec.validate_help);
  app.add_option("--cpu-peak", f.cpu_peak_gflops,
                 "CPU roofline in GFLOP/s instead of measuring an sgemm at start (on a loaded machine the "
                 "measurement reads low and every percentage high)");
  app.add_option("--json", f.json, "append one JSON line per point to this file");
  app.add_option("--torch-json", f.torch, spec.torch_help);
  return impl;
}

// Fills `run` from the flags. False when the run is skipped: --device cuda without a GPU prints
// "skipped: no CUDA device" (scripts treat that as success).
inline bool resolve(CommonFlags f, const DriverSpec& spec, RunSettings* run) {
  if (f.device == "auto") f.device = cuda_device_count() > 0 ? "cuda" : "cpu";
  run->device = parse_device(f.device);
  const bool gpu = run->device.is_cuda();
  if (gpu && cuda_device_count() <= run->device.index) {
    std::printf("skipped: no CUDA device (%s)\n", cuda_unavailable_reason().c_str());
    return false;
  }
  if (f.threads > 0) set_num_threads(f.threads);
  run->reps = f.reps > 0 ? f.reps : f.quick ? 5 : gpu ? 100 : 20;
  run->warmup = f.warmup >= 0 ? f.warmup : f.quick ? 1 : gpu ? 10 : 3;
  run->validate_gflop = f.validate_gflop;
  run->impl = f.impl;

  if (f.dtypes.empty()) f.dtypes = gpu ? spec.gpu_dtypes : std::vector<std::string>{"f32"};
  if (f.tf32.empty()) f.tf32 = gpu ? "both" : "off";
  LOOM_CHECK(gpu || f.tf32 == "off", spec.name, ": --tf32 ", f.tf32, " needs --device cuda");
  auto wants = [&](const char* d) {
    for (const std::string& s : f.dtypes)
      if (s == d || s == "all") return true;
    return false;
  };
  if (wants("f32")) {
    if (f.tf32 != "on") run->dtypes.push_back({DType::F32, false});
    if (f.tf32 != "off") run->dtypes.push_back({DType::F32, true});
  }
  if (wants("bf16")) run->dtypes.push_back({DType::BF16, false});
  if (wants("f16")) run->dtypes.push_back({DType::F16, false});
  run->phases = f.phase == "all" ? std::vector<std::string>{"fwd", "fwd+bwd"} : std::vector<std::string>{f.phase};
  if (!f.torch.empty()) run->torch = load_torch_times(f.torch, spec.torch_families);
  if (!f.json.empty()) {
    run->json.open(f.json, std::ios::app);
    LOOM_CHECK(run->json.good(), spec.name, ": cannot write ", f.json);
  }
  return true;
}

inline std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "(unset)";
}

// Everything a reader needs to trust the numbers, before the numbers: the build, the threads and
// BLAS environment, the roofline (the CPU's measured here, unless --cpu-peak gives it) and the
// timer. `notes`: the family's own lines (without "# "); `counts`: what the run multiplies out to.
inline void print_header(RunSettings& run, const DriverSpec& spec, const CommonFlags& f,
                         const std::vector<std::string>& notes, const std::string& counts) {
  const bool gpu = run.device.is_cuda();
  std::printf("# loom %s on %s\n", spec.name.c_str(), run.device.str().c_str());
  std::istringstream info(build_info_text(build_info()));
  for (std::string line; std::getline(info, line);) std::printf("# %s\n", line.c_str());
  std::printf("# threads %d; BLAS %s; OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s "
              "OMP_WAIT_POLICY=%s LOOM_NUM_THREADS=%s\n",
              num_threads(), kernels::cpu_gemm_provider().c_str(), env_or_unset("OPENBLAS_CORETYPE").c_str(),
              env_or_unset("OPENBLAS_NUM_THREADS").c_str(), env_or_unset("OMP_NUM_THREADS").c_str(),
              env_or_unset("OMP_WAIT_POLICY").c_str(), env_or_unset("LOOM_NUM_THREADS").c_str());
  // libgomp reads OMP_WAIT_POLICY once at load; main() sets passive when it is unset, so another
  // value came from the caller, and spinning OpenMP threads slow the GEMMs after them.
  if (!gpu && env_or_unset("OMP_WAIT_POLICY") != "passive")
    std::printf("# WARNING: OMP_WAIT_POLICY is not passive: spinning OpenMP threads slow the GEMMs after them; "
                "start the bench with OMP_WAIT_POLICY=passive in its environment\n");
  run.device_name = gpu ? build_info().devices.at(run.device.index).name : kernels::cpu_gemm_provider();
  if (!gpu) {
    run.cpu_peak = f.cpu_peak_gflops > 0
                       ? Peak{f.cpu_peak_gflops * 1e9, 0, fmt("given with --cpu-peak: %.1f GFLOP/s", f.cpu_peak_gflops)}
                       : cpu_peak(measure_cpu_sgemm_gflops(2048, f.quick ? 2 : 5));
    std::printf("# roofline: %s on %d threads\n", run.cpu_peak.source.c_str(), num_threads());
    std::printf("# timer: steady_clock per repetition; %d warm-up, %d timed; median and p10/p90\n", run.warmup,
                run.reps);
  } else {
    for (const char* p : {"f32", "tf32", "bf16/f16"}) {
      const DType dt = std::string(p) == "bf16/f16" ? DType::BF16 : DType::F32;
      std::printf("# roofline %s: %s\n", p, gpu_peak(run.device_name, dt, std::string(p) == "tf32").source.c_str());
    }
    std::printf("# timer: CUDA events on loom's stream per repetition, stream synchronized before and after "
                "(wall time in the JSON); %d warm-up, %d timed; median and p10/p90\n",
                run.warmup, run.reps);
  }
  for (const std::string& line : notes) std::printf("# %s\n", line.c_str());
  std::printf("# %s%s\n", counts.c_str(),
              run.torch.empty() ? "" : (", torch timings for " + std::to_string(run.torch.size()) + " points").c_str());
  std::fflush(stdout);
}

// The end of a run: the markdown table after the progress lines, and the exit status.
inline int print_table(const std::vector<Row>& rows) {
  std::printf("\n");
  print_markdown(std::cout, rows);
  return exit_status(rows);
}

}  // namespace loom::bench
