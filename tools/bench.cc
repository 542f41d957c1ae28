// tools/bench.cc: the command line of `loom bench lstm|conv1d|textcnn|step`. It only parses and
// checks flags into a bench::BenchRequest (bench/engine/request.h); bench/engine/ runs it. Every bad value is
// refused here with one line naming the flag (CLI11's "--dtype: f8 not in {...}").
//
// A few older spellings of the bench_lstm / bench_conv1d programs are kept as aliases (--B, --T,
// --C, --H, --F, --K, --reps, --phase, --quick), so scripts written for them keep working.
#include "tools/bench.h"

#include "bench/engine/request.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace loom::tools {
namespace {

using bench::BenchRequest;

// The --impl names: a row of a variant table, a kind of rows ("cuda": every hand-written CUDA
// row), the in-process libtorch peer, or all of them.
const std::vector<std::string> kImpls = {"all",     "cpu",     "reference", "cuda",          "cuda-v1",
                                          "cuda-v2", "cuda-v3", "cudnn",     "cudnn-persist", "libtorch"};

// Number checks with a short message ("--repeats: must be > 0, got 0"; CLI11's own prints the
// whole double range).
CLI::Validator at_least(double low, bool strict) {
  return CLI::Validator(
      [low, strict](std::string& v) {
        try {
          std::size_t used = 0;
          const double d = std::stod(v, &used);
          if (used == v.size() && (strict ? d > low : d >= low)) return std::string();
        } catch (const std::exception&) {
        }
        return std::string(strict ? "must be > " : "must be >= ") + std::to_string(static_cast<int>(low)) + ", got " + v;
      },
      strict ? "> 0" : ">= 0");
}
const CLI::Validator kPositive = at_least(0, true);
const CLI::Validator kNonNegative = at_least(0, false);

// The flags every family shares: device, dtype, impl, pass, timing, output.
void add_run_flags(CLI::App& c, BenchRequest& r, bool quick_alias) {
  c.add_option("--device", r.device, "auto (cuda:0 when there is a GPU, else cpu) | cpu | cuda | cuda:N")
      ->check([](const std::string& v) {
        return v == "auto" || v == "cpu" || v.rfind("cuda", 0) == 0 ? std::string() : "auto | cpu | cuda | cuda:N";
      });
  c.add_option("--dtype", r.dtypes, "f32 bf16 f16 or all, comma-separated (default: f32 on cpu; on cuda all for lstm, f32,bf16 for conv1d and textcnn)")
      ->delimiter(',')
      ->check(CLI::IsMember({"f32", "bf16", "f16", "all"}));
  c.add_option("--tf32", r.tf32, "TF32 for F32 points on a GPU: off | on | both (default: off on cpu, both on cuda)")
      ->check(CLI::IsMember({"off", "on", "both"}));
  c.add_option("--impl", r.impls,
               "all, or a comma-separated list of: cpu, reference, cuda (every hand-written CUDA row), cuda-v1, "
               "cuda-v2, cuda-v3, cudnn, cudnn-persist, libtorch")
      ->delimiter(',')
      ->check(CLI::IsMember(kImpls));
  c.add_option("--pass,--phase", r.pass, "fwd | fwd+bwd | both")
      ->check(CLI::IsMember({"fwd", "fwd+bwd", "both", "all"}));
  c.add_option("--warmup", r.warmup, "untimed repetitions first (default 3 cpu, 10 cuda, 1 with --grid quick)")
      ->check(kNonNegative);
  c.add_option("--repeats,--reps", r.repeats, "timed repetitions (default 20 cpu, 100 cuda, 5 with --grid quick)")
      ->check(kPositive);
  c.add_option("--budget", r.budget_s, "time each row for about this many seconds instead of --repeats")
      ->check(kPositive);
  c.add_option("--threads", r.threads, "CPU threads (default: LOOM_NUM_THREADS or all cores)")->check(kPositive);
  c.add_option("--grid", r.grid, "the preset points when no shape flag is given: target | full | quick")
      ->check(CLI::IsMember({"target", "targets", "full", "quick"}));
  if (quick_alias)
    c.add_flag_callback("--quick", [&r] { r.grid = "quick"; }, "the same as --grid quick");
  c.add_option("--validate-gflop", r.validate_gflop,
               "largest CPU reference run at full size (GFLOP); above it a point is validated at a shorter T or B")
      ->check(kPositive);
  c.add_option("--cpu-peak", r.cpu_peak_gflops,
               "CPU roofline in GFLOP/s instead of measuring an sgemm at start")
      ->check(kPositive);
  c.add_option("--json", r.json, "write one JSON document: machine, versions, command line and every row");
  c.add_option("--markdown", r.markdown, "write the table as markdown with its header (for bench/results/)");
  c.add_option("--jsonl", r.jsonl, "append one JSON line per row (the schema of bench/torch_reference*.py)");
  c.add_option("--torch-json", r.torch_json,
               "JSON lines of the Python peer (bench/torch_reference*.py) to show beside the rows");
}

void add_lstm_flags(CLI::App& c, BenchRequest& r) {
  c.add_option("--batch,--B", r.batch, "one point: batch (default 64)")->check(kPositive);
  c.add_option("--seq,--T", r.seq, "one point: time steps (default 50)")->check(kPositive);
  c.add_option("--input,--C", r.input, "one point: input features (default 128)")->check(kPositive);
  c.add_option("--hidden,--H", r.hidden, "one point: hidden size (default 256)")->check(kPositive);
  c.add_option("--layers", r.layers, "one point: stacked layers (default 1)")->check(kPositive);
  c.add_flag("--bidirectional", r.bidirectional, "one point: two directions per layer");
  c.add_option("--lengths", r.lengths,
               "full (every row runs all T steps) | mixed (per-row lengths in [T/2, T]) | both")
      ->check(CLI::IsMember({"full", "mixed", "both", "fixed", "variable", "all"}));
}

void add_conv_flags(CLI::App& c, BenchRequest& r, bool block) {
  c.add_option("--batch,--B", r.batch, "one point: batch (default 64)")->check(kPositive);
  c.add_option("--seq,--T", r.seq, "one point: time steps (default 50)")->check(kPositive);
  c.add_option("--input,--C", r.input, "one point: input channels (default 128)")->check(kPositive);
  c.add_option("--filters,--F", r.filters, "one point: filters per width (default 100)")->check(kPositive);
  if (block) {
    c.add_option("--widths", r.widths, "one point: the kernel widths, comma-separated (default 3,4,5)")
        ->check([](const std::string& v) {
          if (v.empty() || v.find_first_not_of("0123456789,") != std::string::npos || v.front() == ',' ||
              v.back() == ',' || v.find(",,") != std::string::npos)
            return std::string("positive integers separated by commas, e.g. 3,4,5");
          return std::string();
        });
  } else {
    c.add_option("--kernel,--K", r.kernel, "one point: kernel width (default 3)")->check(kPositive);
  }
  c.add_option("--report", r.report,
               "run nothing: print the table of a --jsonl file from one or more runs (the fastest run of each "
               "implementation at each point)");
}

void add_step_flags(CLI::App& c, BenchRequest& r) {
  c.add_option("--arch", r.arch, "lstm | bilstm | cnn | lstm-cnn | cnn-lstm | bow")
      ->check(CLI::IsMember({"lstm", "bilstm", "cnn", "lstm-cnn", "cnn-lstm", "bow"}));
  c.add_option("--batch,--batch-size", r.batch, "examples per step (default 64)")->check(kPositive);
  c.add_option("--seq,--max-len", r.seq, "tokens per example (default 50)")->check(kPositive);
  c.add_option("--embed-dim", r.embed_dim, "embedding size (default 128)")->check(kPositive);
  c.add_option("--hidden", r.hidden, "LSTM hidden size per direction (default 128)")->check(kPositive);
  c.add_option("--layers", r.layers, "stacked LSTM layers (default 1)")->check(kPositive);
  c.add_option("--vocab-size,--max-vocab", r.vocab_size, "vocabulary size (default 20000)")
      ->check(CLI::Range(std::int64_t{3}, std::int64_t{1} << 30));
  c.add_option("--filters", r.filters, "conv filters per width (default 100)")->check(kPositive);
  c.add_option("--widths", r.widths, "conv widths (default 3,4,5)");
  c.add_option("--precision", r.precision, "fp32 | bf16 | fp16 (autocast, as loom train --precision)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  c.add_option("--device", r.device, "auto | cpu | cuda | cuda:N");
  c.add_option("--warmup", r.warmup, "untimed steps first (default 3 cpu, 10 cuda)")->check(kNonNegative);
  c.add_option("--repeats,--reps", r.repeats, "timed steps (default 20 cpu, 100 cuda)")->check(kPositive);
  c.add_option("--budget", r.budget_s, "time for about this many seconds instead of --repeats")
      ->check(kPositive);
  c.add_option("--threads", r.threads, "CPU threads")->check(kPositive);
  c.add_option("--cpu-peak", r.cpu_peak_gflops, "CPU roofline in GFLOP/s instead of measuring")
      ->check(kPositive);
  c.add_option("--json", r.json, "write one JSON document with every row");
  c.add_option("--markdown", r.markdown, "write the table as markdown with its header");
}

// The command line as parsed, for the reports: "loom bench lstm --device cpu --batch 8", each flag
// under its first name, in declaration order (what was typed, normalized).
std::string command_line(const CLI::App& c) {
  std::string s = "loom bench " + c.get_name();
  for (const CLI::Option* o : c.get_options()) {
    if (o->count() == 0 || o->get_name() == "--help" || o->get_name().empty()) continue;
    s += " " + o->get_name();
    if (o->get_expected_max() == 0) continue;  // a flag
    std::string v;
    for (const std::string& r : o->results()) v += (v.empty() ? "" : ",") + r;
    s += " " + v;
  }
  return s;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto request = std::make_shared<BenchRequest>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Time the kernels against each other and libtorch, validated first (loom bench lstm --help)");
  bench->require_subcommand(1);
  CLI::App* lstm = bench->add_subcommand("lstm", "The LSTM (ops::lstm_seq, every row of its variant table)");
  CLI::App* conv = bench->add_subcommand("conv1d", "One 1-D convolution, valid padding ([T, B, C] -> [T-K+1, B, F])");
  CLI::App* block = bench->add_subcommand("textcnn", "Kim's text-CNN block: per width conv, ReLU, max over time");
  CLI::App* step = bench->add_subcommand("step", "One whole training step (forward, loss, backward, AdamW) of a model");
  add_run_flags(*lstm, *request, true);
  add_lstm_flags(*lstm, *request);
  add_run_flags(*conv, *request, true);
  add_conv_flags(*conv, *request, false);
  add_run_flags(*block, *request, true);
  add_conv_flags(*block, *request, true);
  add_step_flags(*step, *request);
  for (CLI::App* c : {lstm, conv, block, step}) {
    c->footer("Columns, validation and the roofline: docs/bench.md");
    c->callback([request, c] {
      request->family = c->get_name();
      request->command_line = command_line(*c);
    });
  }
  return [request, &out, &err] { return bench::run_bench(*request, out, err); };
}

}  // namespace loom::tools
