// bench/engine/request.h: `loom bench` as data. tools/bench.cc parses the command line into a
// BenchRequest (CLI11, flag checks) and calls run_bench(); the engine (bench/engine/) runs it.
// bench/ sits below tools/ on the include ladder (core/README.md), so the request is declared here.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace loom::bench {

struct BenchRequest {
  std::string family;  // "lstm" | "conv1d" | "textcnn" | "step"
  std::string command_line;  // as typed, for the JSON and markdown headers

  // One point's shape; 0 (or empty) = not given: the family's default, or the --grid preset when
  // no shape flag is given at all.
  std::int64_t batch = 0, seq = 0, input = 0, hidden = 0, filters = 0, kernel = 0;
  int layers = 0;
  bool bidirectional = false;
  std::string lengths;  // "full" | "mixed" | "both"; empty: full for one point, the grid's own otherwise
  std::string widths;   // textcnn: "3,4,5"
  std::string grid = "target";  // "target" | "full" | "quick"

  // What runs and how.
  std::vector<std::string> dtypes;  // f32 bf16 f16 all; empty: f32 on cpu, the family's list on cuda
  std::string tf32;                 // off | on | both; empty: off on cpu, both on cuda
  std::string device = "auto";      // auto | cpu | cuda | cuda:N
  std::vector<std::string> impls{"all"};
  std::string pass = "both";        // fwd | fwd+bwd | both
  int warmup = -1;                  // -1: 3 on cpu, 10 on cuda, 1 with --grid quick
  int repeats = 0;                  // 0: 20 on cpu, 100 on cuda, 5 with --grid quick
  double budget_s = 0;              // > 0: time each row for about this long instead
  int threads = 0;
  double validate_gflop = 0;        // 0: the family's default
  double cpu_peak_gflops = 0;       // 0: measure an sgemm at start

  // step: one training step of a named architecture.
  std::string arch = "lstm";
  std::int64_t embed_dim = 128, vocab_size = 20000;
  std::string precision = "fp32";

  // Output.
  std::string json, markdown;  // one document / one markdown table with its header
  std::string jsonl;           // append one JSON line per row (the schema of bench/torch_reference*.py)
  std::string torch_json;      // the Python peer's JSON lines to join (a second opinion)
  std::string report;          // conv1d/textcnn: print the table of earlier --jsonl runs, run nothing
};

// A test's handle on validation (the engine's only one): `perturb`, when set, sees every candidate's
// outputs (name -> F32 values) before they are compared with the reference, by implementation name
// ("reference", "cpu", "cuda-v2", "libtorch", "step"), and may corrupt them to prove that a wrong
// implementation is caught. 
using BenchOutputs = std::vector<std::pair<std::string, std::vector<float>>>;
struct BenchTestHooks {
  std::function<void(const std::string& impl, BenchOutputs& outputs)> perturb;
};
BenchTestHooks& bench_test_hooks();  // defined in engine.cc

// Runs the request; the table on `out`, progress and warnings on `err`. Returns 1 when a row
// failed validation or errored, else 0 (a skipped GPU run is 0). Defined in engine.cc.
int run_bench(const BenchRequest& request, std::ostream& out, std::ostream& err);

}  // namespace loom::bench
