// tests/train/test_trace_kernels.cc: the kernel profiler (ops/profile.h) and `loom trace --kernels`
// (train/trace_kernels.h, tools/trace.cc) on the CPU: nothing is recorded while no session is
// open; a training step of a tiny LSTM records its embedding, lstm_seq, head GEMM, loss and AdamW
// kernels in the order a step runs them, each with a time; the FLOPs recorded for lstm_seq are the
// kernel's cost formula, recomputed here by hand; cpu and reference run the same op sequence side
// by side; --jsonl parses; a bad --impl names the flag; the roofline peaks are the datasheets'.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "ops/matmul.h"
#include "ops/profile.h"
#include "ops/tensor.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "train/run_setup.h"
#include "train/trace_kernels.h"

using namespace loom;
using loom::test::Cli;
using loom::test::TempDir;
using ops::profile::KernelRecord;

namespace {

// A tiny LSTM (embed 12, hidden 8, one layer) on a 6-row, 5-token batch.
constexpr std::int64_t kE = 12, kH = 8, kB = 6, kT = 5, kV = 40;

train::KernelTraceConfig tiny_lstm(const std::vector<std::string>& impls) {
  train::TrainOptions o;
  o.arch = "lstm";
  o.embed_dim = kE;
  o.hidden = kH;
  o.layers = 1;
  o.dropout = 0.0;
  train::KernelTraceConfig c;
  c.model = train::model_config(o, kV, 1, Impl::Auto, 0);
  c.batch = kB;
  c.seq_len = kT;
  c.impls = impls;
  return c;
}

// Index of the first record of `op` in `phase`, or -1.
int first(const std::vector<KernelRecord>& calls, const std::string& op, const std::string& phase) {
  for (std::size_t i = 0; i < calls.size(); ++i)
    if (calls[i].op == op && calls[i].phase == phase) return static_cast<int>(i);
  return -1;
}

const KernelRecord& record(const std::vector<KernelRecord>& calls, const std::string& op, const std::string& phase) {
  const int i = first(calls, op, phase);
  REQUIRE_MESSAGE(i >= 0, op << " / " << phase << " was not recorded");
  return calls[static_cast<std::size_t>(i)];
}

}  // namespace

TEST_CASE("profile: nothing is recorded while no session is open and everything while one is") {
  const Tensor a = Tensor::uniform({4, 3}, -1, 1, 1), b = Tensor::uniform({3, 5}, -1, 1, 2);
  CHECK_FALSE(ops::profile::recording());
  (void)ops::matmul(a, b);  // runs a GEMM with the profiler off
  {
    ops::profile::Session s;
    CHECK(ops::profile::recording());
    CHECK(s.finish().empty());  // the call before the session left nothing behind
  }
  CHECK_FALSE(ops::profile::recording());
  ops::profile::Session s;
  (void)ops::matmul(a, b);
  const std::vector<KernelRecord> calls = s.finish();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].op == "matmul");
  CHECK(calls[0].impl == "cpu");
  CHECK(calls[0].device == "cpu");
  CHECK(calls[0].shapes == "M=4 N=5 K=3");
  CHECK(calls[0].flops == doctest::Approx(2.0 * 4 * 5 * 3));  // 2MNK
  CHECK(calls[0].time_us > 0);
  (void)ops::matmul(a, b);  // after finish(): not recorded, and a second session may open
  ops::profile::Session again;
  CHECK(again.finish().empty());
  CHECK_THROWS_AS(again.finish(), Error);
}

TEST_CASE("trace --kernels: a CPU lstm step records every kernel in a training step's order") {
  const std::vector<train::KernelTrace> traces = train::trace_training_step(tiny_lstm({"cpu"}));
  REQUIRE(traces.size() == 1);
  const train::KernelTrace& t = traces[0];
  REQUIRE(t.skipped.empty());
  const std::vector<KernelRecord>& calls = t.calls;
  REQUIRE(calls.size() >= 10);
  for (const KernelRecord& r : calls) {
    INFO(r.index << " " << r.op << " " << r.phase);
    CHECK(r.time_us > 0);
    CHECK(r.device == "cpu");
    CHECK((r.phase == "forward" || r.phase == "backward" || r.phase == "optimizer" || r.phase == "readback"));
  }
  // Phases come in the step's order: forward, backward, optimizer, then the loss's read-back.
  std::vector<int> phase_rank;
  for (const KernelRecord& r : calls)
    phase_rank.push_back(r.phase == "forward" ? 0 : r.phase == "backward" ? 1 : r.phase == "optimizer" ? 2 : 3);
  CHECK(std::is_sorted(phase_rank.begin(), phase_rank.end()));
  // Forward: embedding -> lstm_seq -> the head's GEMM -> the loss; backward in reverse; then AdamW.
  const int emb_f = first(calls, "embedding", "forward"), lstm_f = first(calls, "lstm_seq", "forward");
  const int head_f = first(calls, "matmul", "forward") >= 0 ? first(calls, "matmul", "forward")
                                                           : first(calls, "linear", "forward");
  const int loss_f = first(calls, "bce_with_logits", "forward");
  const int loss_b = first(calls, "bce_with_logits", "backward"), lstm_b = first(calls, "lstm_seq", "backward");
  const int emb_b = first(calls, "embedding", "backward"), adam = first(calls, "adamw", "optimizer");
  INFO("indices: " << emb_f << " " << lstm_f << " " << head_f << " " << loss_f << " " << loss_b << " " << lstm_b
                   << " " << emb_b << " " << adam);
  CHECK(emb_f >= 0);
  CHECK(emb_f < lstm_f);
  CHECK(lstm_f < head_f);
  CHECK(head_f < loss_f);
  CHECK(loss_f < loss_b);
  CHECK(loss_b < lstm_b);
  CHECK(lstm_b < emb_b);
  CHECK(emb_b < adam);
  CHECK(first(calls, "grad_norm", "optimizer") >= 0);
  // One AdamW call per trainable tensor: embedding, w_ih, w_hh, b_ih, b_hh, head weight and bias.
  CHECK(std::count_if(calls.begin(), calls.end(), [](const KernelRecord& r) { return r.op == "adamw"; }) == 7);
  CHECK(record(calls, "lstm_seq", "forward").impl == "cpu");
  CHECK(record(calls, "lstm_seq", "backward").impl == "cpu");
  CHECK(t.kernel_us > 0);
  CHECK(t.step_us >= t.kernel_us);
  CHECK(std::isfinite(t.loss));
}

TEST_CASE("trace --kernels: lstm_seq's recorded FLOPs are the kernel's cost formula") {
  train::KernelTraceConfig three = tiny_lstm({"cpu"});
  three.repeats = 3;  // medians over three profiled steps: the same calls, the same counts
  const std::vector<train::KernelTrace> traces = train::trace_training_step(three);
  const std::vector<KernelRecord>& calls = traces.at(0).calls;
  CHECK(calls.size() == train::trace_training_step(tiny_lstm({"cpu"})).at(0).calls.size());
  for (const KernelRecord& r : calls) CHECK(r.time_us > 0);
  // By hand, per direction (kernels/lstm/lstm.h), with N = T*B rows, G = 4H gates, C = E inputs:
  //   forward  = 2*N*G*(C + H)  (x W_ih^T and h W_hh^T)  + 23*N*H  (pointwise)
  //   backward = 2*N*G*H (dh_prev) + 25*N*H (pointwise) + 2*N*G*H (dW_hh) + 2*N*G*C (dW_ih)
  //              + 2*N*G*C (dx: the embedding wants its gradient) + N*G (db column sum)
  const double N = kT * kB, G = 4.0 * kH, C = kE, H = kH;
  const double fwd = 2 * N * G * (C + H) + 23 * N * H;
  const double bwd = 2 * N * G * H + 25 * N * H + 2 * N * G * H + 2 * N * G * C + 2 * N * G * C + N * G;
  CHECK(fwd == 2 * 4 * kH * (kE + kH) * kT * kB + 23 * kT * kB * kH);  // the brief's form, same number
  const KernelRecord& f = record(calls, "lstm_seq", "forward");
  const KernelRecord& b = record(calls, "lstm_seq", "backward");
  CHECK(f.flops == doctest::Approx(fwd).epsilon(1e-12));
  CHECK(b.flops == doctest::Approx(bwd).epsilon(1e-12));
  CHECK(f.shapes == "T=5 B=6 C=12 H=8 D=1");
  CHECK(f.dtype == "f32");
  CHECK(f.bytes > 0);
  // A kernel without a FLOP model says so (-1, printed "-"); fill has bytes only.
  for (const KernelRecord& r : calls)
    if (r.op == "fill") CHECK(r.flops < 0);
}

TEST_CASE("trace --kernels: cpu and reference side by side run the same sequence of ops") {
  const std::vector<train::KernelTrace> traces = train::trace_training_step(tiny_lstm({"cpu", "reference"}));
  REQUIRE(traces.size() == 2);
  const std::vector<KernelRecord>&cpu = traces[0].calls, &ref = traces[1].calls;
  REQUIRE(cpu.size() == ref.size());
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    INFO(i);
    CHECK(cpu[i].op == ref[i].op);
    CHECK(cpu[i].phase == ref[i].phase);
    CHECK(cpu[i].shapes == ref[i].shapes);
  }
  CHECK(record(ref, "lstm_seq", "forward").impl == "reference");
  CHECK(record(ref, "lstm_seq", "backward").impl == "reference");
  // Same weights, same batch: the same loss up to the two rows' rounding.
  CHECK(traces[0].loss == doctest::Approx(traces[1].loss).epsilon(1e-5));
  std::ostringstream out;
  train::RooflineModel roof;
  roof.cpu = {1e11, 0, "test peak: 100 GFLOP/s"};
  train::print_kernel_trace(traces, roof, out);
  CHECK(out.str().find("| cpu") != std::string::npos);
  CHECK(out.str().find("| reference") != std::string::npos);
  CHECK(out.str().find("per op") != std::string::npos);
}

TEST_CASE("loom trace --kernels: the command with --jsonl and a skipped impl, bad --impl") {
  TempDir dir;
  const std::string path = dir.file("k.jsonl");
  Cli c({"trace", "--kernels", "--arch", "lstm", "--embed-dim", "12", "--hidden", "8", "--vocab-size", "40",
         "--batch-size", "6", "--seq-len", "5", "--device", "cpu", "--impl", "cpu,cuda-v2", "--jsonl", path});
  REQUIRE_MESSAGE(c.status == 0, c.err.str());
  const std::string text = c.out.str();
  INFO(text);
  CHECK(text.find("lstm_seq") != std::string::npos);
  CHECK(text.find("impl cuda-v2: skipped (runs CUDA tensors") != std::string::npos);
  CHECK(text.find("measured F32 GEMM") != std::string::npos);
  std::ifstream in(path);
  std::string line;
  int kernels = 0, steps = 0;
  bool saw_lstm_flops = false;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);  // throws on a malformed line
    if (j.at("type") == "kernel") {
      ++kernels;
      CHECK(j.at("impl_requested") == "cpu");
      CHECK(j.at("time_us").get<double>() > 0);
      if (j.at("op") == "lstm_seq" && j.at("flops").is_number() && j.at("pct_roofline").is_number()) saw_lstm_flops = true;
    } else {
      CHECK(j.at("type") == "step");
      ++steps;
    }
  }
  CHECK(kernels >= 10);
  CHECK(steps == 2);  // cpu ran, cuda-v2 skipped: one step object each
  CHECK(saw_lstm_flops);

  CHECK_THROWS_WITH_AS(Cli({"trace", "--kernels", "--arch", "lstm", "--impl", "cpu,fast", "--device", "cpu"}),
                       doctest::Contains("--impl: unknown implementation 'fast'"), Error);
  CHECK_THROWS_WITH_AS(Cli({"trace", "--kernels", "--arch", "lstm", "--impl", "cpu,cpu", "--device", "cpu"}),
                       doctest::Contains("--impl"), Error);
  CHECK_THROWS_WITH_AS(Cli({"trace", "--kernels", "--arch", "lstm", "--precision", "fp16", "--device", "cpu"}),
                       doctest::Contains("fp16"), Error);
  CHECK_THROWS_WITH_AS(Cli({"trace", "--kernels", "--arch", "lstm", "--repeats", "0", "--device", "cpu"}),
                       doctest::Contains("--repeats"), Error);
  CHECK_THROWS_WITH_AS(Cli({"trace", "--text", "hi"}), doctest::Contains("--model"), Error);
  Cli arch_without_kernels({"trace", "--arch", "lstm"});  // a kernels-only flag without --kernels: usage error
  CHECK(arch_without_kernels.status != 0);
}

TEST_CASE("profile: the roofline peaks are the datasheet numbers ops/profile.h cites") {
  // Dense TFLOP/s (FP32, TF32, BF16) and TB/s, as ops/profile.h cites them (bench/common/roofline.h forwards there;
  // the numbers are typed here from the datasheets, so a typo in the table fails).
  struct Want {
    const char* name;
    double fp32, tf32, half, hbm;  // 0: unknown device
  };
  for (const Want& w : {Want{"NVIDIA H100 80GB HBM3", 67, 494.5, 989.5, 3.35}, Want{"NVIDIA H100 PCIe", 51, 378, 756, 2.0},
                        Want{"NVIDIA H200", 67, 494.5, 989.5, 4.8}, Want{"NVIDIA H100 NVL", 0, 0, 0, 0},
                        Want{"Tesla T4", 0, 0, 0, 0}}) {
    INFO(w.name);
    CHECK(ops::profile::gpu_peak(w.name, DType::F32, false).flops_per_s == doctest::Approx(w.fp32 * 1e12));
    CHECK(ops::profile::gpu_peak(w.name, DType::F32, true).flops_per_s == doctest::Approx(w.tf32 * 1e12));
    CHECK(ops::profile::gpu_peak(w.name, DType::BF16, false).flops_per_s == doctest::Approx(w.half * 1e12));
    CHECK(ops::profile::gpu_peak(w.name, DType::BF16, false).bytes_per_s == doctest::Approx(w.hbm * 1e12));
  }
  // pct = 100 * max(flops / peak_flops, bytes / peak_bytes) / time; NaN without a peak or a count.
  const ops::profile::Peak p{1e12, 1e11, "test"};
  CHECK(ops::profile::pct_of_roofline(1e9, 1e6, 1e-3, p) == doctest::Approx(100.0));  // 1 ms of compute in 1 ms
  CHECK(ops::profile::pct_of_roofline(1e6, 1e8, 4e-3, p) == doctest::Approx(25.0));   // 1 ms of bytes in 4 ms
  CHECK(std::isnan(ops::profile::pct_of_roofline(-1, 1e8, 1e-3, p)));
  CHECK(std::isnan(ops::profile::pct_of_roofline(1e9, 1e8, 1e-3, ops::profile::Peak{})));
}

TEST_CASE("loom trace --kernels --model: a trained run's model, weights and batch size") {
  TempDir dir;
  Cli synth({"synth", "--out", dir.path(), "--rows", "200", "--seed", "5"});
  REQUIRE(synth.status == 0);
  Cli tr({"train", "--input", dir.file("train.csv"), "--arch", "bilstm", "--embed-dim", "8", "--hidden", "6",
          "--epochs", "1", "--batch-size", "16", "--max-len", "12", "--device", "cpu", "--ckpt-dir", dir.file("run")});
  REQUIRE_MESSAGE(tr.status == 0, tr.err.str());
  Cli c({"trace", "--kernels", "--model", dir.file("run"), "--impl", "cpu,reference", "--device", "cpu"});
  REQUIRE_MESSAGE(c.status == 0, c.err.str());
  const std::string text = c.out.str();
  INFO(text);
  CHECK(text.find("one training step of run " + dir.file("run")) != std::string::npos);
  CHECK(text.find("batch 16 x 12") != std::string::npos);  // the run's batch size and max-len
  CHECK(text.find("H=6 D=2") != std::string::npos);        // the run's bilstm: both directions in one call
  CHECK(text.find("| reference") != std::string::npos);
  // The model's shape comes from the run: --arch next to --model is a usage error.
  Cli both({"trace", "--kernels", "--model", dir.file("run"), "--arch", "lstm"});
  CHECK(both.status != 0);
}
