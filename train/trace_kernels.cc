// train/trace_kernels.cc: the profiled training step of `loom trace --kernels` and its two views
// (terminal table, JSON lines). What is measured and how: train/trace_kernels.h.
#include "train/trace_kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "models/factory.h"
#include "ops/autograd.h"
#include "ops/build_info.h"
#include "ops/optim.h"
#include "train/checkpoint.h"
#include "train/grad_scaler.h"
#include "train/objective.h"
#include "train/run_setup.h"

namespace loom::train {
namespace {

using ops::profile::KernelRecord;
using ops::profile::Peak;

struct ImplSpec {
  const char* name;
  bool cuda;  // runs CUDA tensors (else CPU tensors); "auto" fits both
};

const std::vector<ImplSpec>& impl_specs() {
  static const std::vector<ImplSpec> specs{{"auto", false},   {"cpu", false},   {"reference", false},
                                           {"cuda-v1", true}, {"cuda-v2", true}, {"cudnn", true},
                                           {"cudnn-persist", true}};
  return specs;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Why `impl` cannot run on `device` in this build, or "".
std::string why_not(const std::string& impl, Device device) {
  if (impl == "auto") return "";
  const bool wants_cuda = impl.rfind("cuda", 0) == 0 || impl.rfind("cudnn", 0) == 0;
  if (wants_cuda && device.is_cpu()) return "runs CUDA tensors; this trace runs on the CPU (--device cuda)";
  if (!wants_cuda && !device.is_cpu()) return "runs CPU tensors; this trace runs on " + device.str() + " (--device cpu)";
  if (impl.rfind("cudnn", 0) == 0 && !cudnn_compiled()) return "cuDNN is not compiled into this build";
  return "";
}

// The LSTM row and the convolutions' Impl for an implementation name (see the header).
void apply_impl(models::ModelConfig& mc, const std::string& impl) {
  mc.lstm_impl = ops::LstmSeqOptions{};
  mc.conv_impl = Impl::Auto;
  if (impl == "auto") return;
  mc.lstm_impl.row = impl;
  if (impl == "cpu" || impl == "reference") mc.conv_impl = Impl::Cpu;
  else if (impl.rfind("cudnn", 0) == 0) mc.conv_impl = Impl::Cudnn;
  else mc.conv_impl = Impl::Cuda;
}

// B rows of T random ids in [2, V) (0 is <pad>, 1 <unk>), every row T long, random labels.
struct SyntheticBatch {
  Tensor tokens, lengths, targets;
};

SyntheticBatch synthetic_batch(const KernelTraceConfig& c) {
  const std::int64_t T = c.seq_len, B = c.batch, V = std::max<std::int64_t>(c.model.vocab_size, 3);
  std::mt19937_64 rng(c.seed);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(T * B));
  for (auto& id : ids) id = static_cast<std::int32_t>(2 + rng() % static_cast<std::uint64_t>(V - 2));
  SyntheticBatch s;
  s.tokens = Tensor::from_vector(ids, {T, B});
  s.lengths = Tensor::from_vector(std::vector<std::int32_t>(static_cast<std::size_t>(B), static_cast<std::int32_t>(T)), {B});
  const std::int64_t K = c.num_labels;
  if (c.task == data::TaskKind::MultiClass) {
    std::vector<std::int32_t> y(static_cast<std::size_t>(B));
    for (auto& v : y) v = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(K));
    s.targets = Tensor::from_vector(y, {B});
  } else {
    const std::int64_t cols = c.task == data::TaskKind::Binary ? 1 : K;
    std::vector<float> y(static_cast<std::size_t>(B * cols));
    for (auto& v : y) v = static_cast<float>(rng() % 2);
    s.targets = Tensor::from_vector(y, {B, cols});
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double top_level_us(const std::vector<KernelRecord>& calls) {
  double sum = 0;
  for (const KernelRecord& r : calls)
    if (r.depth == 0) sum += r.time_us;
  return sum;
}

KernelTrace run_one(const KernelTraceConfig& c, const std::string& impl) {
  KernelTrace trace;
  trace.impl = impl;
  trace.skipped = why_not(impl, c.device);
  if (!trace.skipped.empty()) return trace;

  models::ModelConfig mc = c.model;
  apply_impl(mc, impl);
  std::unique_ptr<models::Classifier> model = models::make_model(mc, c.seed, c.device);
  if (!c.weights_path.empty()) load_weights(c.weights_path, *model);
  const std::vector<Tensor> params = model->trainable_parameters();
  TrainOptions to;  // the trainer's AdamW settings (fused zero_grad included) for this lr and decay
  to.lr = c.lr;
  to.weight_decay = c.weight_decay;
  ops::AdamW optimizer(params, adamw_config(to));
  const std::vector<std::int64_t> counts(static_cast<std::size_t>(c.num_labels), 1);
  const Objective objective(c.task, c.num_labels, counts, c.num_labels, "none", "none", c.device);
  const SyntheticBatch batch = synthetic_batch(c);
  Generator gen(c.seed);
  Tensor clip_scale = Tensor::full({1}, 1.0, DType::F32, c.device);

  // The trainer's step (train/trainer.cc train_step, without fp16's loss scaler), in three phases.
  auto step = [&]() -> double {
    Tape tape;
    Tensor loss;
    {
      const ops::profile::Phase phase("forward");
      auto rec = tape.record();
      const ops::AutocastScope amp(c.precision);
      const Tensor logits = model->forward({batch.tokens, batch.lengths, Tensor()}, layers::Phase::Train, gen);
      loss = objective(logits, batch.targets);
    }
    {
      const ops::profile::Phase phase("backward");
      optimizer.zero_grad();
      tape.backward(loss);
      tape.clear();
    }
    {
      const ops::profile::Phase phase("optimizer");
      const double norm = ops::grad_norm(params);
      if (c.clip_grad_norm > 0) {
        set_grad_scale(clip_scale, ops::clip_coefficient(norm, c.clip_grad_norm));
        optimizer.step(clip_scale);
      } else {
        optimizer.step();
      }
    }
    // The trainer's one read-back per step (it waits for the device): phase "readback".
    const ops::profile::Phase phase("readback");
    return loss.item();
  };

  step();  // warm-up, untimed
  // `repeats` profiled steps; each call's time is its median over them (a loaded machine's
  // preemptions hit single calls, and the median drops them). The loss is the first step's.
  std::vector<std::vector<double>> times;  // [call][repeat]
  std::vector<double> step_times;
  for (int rep = 0; rep < c.repeats; ++rep) {
    ops::profile::Session session;
    const auto t0 = std::chrono::steady_clock::now();
    const double loss = step();
    step_times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    std::vector<KernelRecord> calls = session.finish();
    if (rep == 0) {
      trace.loss = loss;
      trace.calls = std::move(calls);
      times.resize(trace.calls.size());
    } else {
      LOOM_CHECK(calls.size() == trace.calls.size(), "trace --kernels: step ", rep + 1, " ran ", calls.size(),
                 " kernel calls, the first ", trace.calls.size(), "; --repeats needs the same sequence every step");
    }
    for (std::size_t i = 0; i < times.size(); ++i) times[i].push_back(rep == 0 ? trace.calls[i].time_us : calls[i].time_us);
  }
  for (std::size_t i = 0; i < times.size(); ++i) trace.calls[i].time_us = median(times[i]);
  trace.step_us = median(step_times);
  trace.kernel_us = top_level_us(trace.calls);
  return trace;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A number, or "-" when it is unknown (negative or NaN).
std::string num_or_dash(const char* f, double v) { return (std::isnan(v) || v < 0) ? "-" : fmt(f, v); }

std::string clip(const std::string& s, std::size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "~"; }
std::string pad(const std::string& s, std::size_t n) { return s.size() >= n ? s : s + std::string(n - s.size(), ' '); }

DType dtype_of(const KernelRecord& r) {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32})
    if (r.dtype == dtype_name(t)) return t;
  return DType::F32;
}

struct Rates {
  double gflops = NAN, gbps = NAN, pct = NAN;
};

Rates rates(const KernelRecord& r, const RooflineModel& roof) {
  Rates x;
  const double s = r.time_us * 1e-6;
  if (!(s > 0)) return x;
  if (r.flops >= 0) x.gflops = r.flops / s / 1e9;
  if (r.bytes >= 0) x.gbps = r.bytes / s / 1e9;
  x.pct = ops::profile::pct_of_roofline(r.flops, r.bytes, s, roof.peak_for(dtype_of(r)));
  return x;
}

bool same_sequence(const std::vector<const KernelTrace*>& ran) {
  for (const KernelTrace* t : ran) {
    if (t->calls.size() != ran[0]->calls.size()) return false;
    for (std::size_t i = 0; i < t->calls.size(); ++i)
      if (t->calls[i].op != ran[0]->calls[i].op || t->calls[i].phase != ran[0]->calls[i].phase) return false;
  }
  return true;
}

void print_one_table(const KernelTrace& t, const RooflineModel& roof, std::ostream& out) {
  out << "  #  op                    phase     impl       device  shapes                          dtype   time_us"
         "  GFLOP/s    GB/s  %roof\n";
  for (const KernelRecord& r : t.calls) {
    const Rates x = rates(r, roof);
    char line[320];
    std::snprintf(line, sizeof line, "%3d  %-21s %-9s %-10s %-7s %-31s %-5s %9.1f %8s %7s %6s\n", r.index,
                  clip(std::string(static_cast<std::size_t>(r.depth) * 2, ' ') + r.op, 21).c_str(), r.phase.c_str(),
                  clip(r.impl, 10).c_str(), r.device.c_str(), clip(r.shapes, 31).c_str(), r.dtype.c_str(), r.time_us,
                  num_or_dash("%.2f", x.gflops).c_str(), num_or_dash("%.2f", x.gbps).c_str(),
                  num_or_dash("%.1f", x.pct).c_str());
    out << line;
  }
}

void print_side_by_side(const std::vector<const KernelTrace*>& ran, const RooflineModel& roof, std::ostream& out) {
  std::string head = "  #  op                    phase     shapes                          dtype";
  for (const KernelTrace* t : ran) {
    char h[96];
    std::snprintf(h, sizeof h, " | %-10s %9s %6s", clip(t->impl, 10).c_str(), "time_us", "%roof");
    head += h;
  }
  out << head << "\n";
  for (std::size_t i = 0; i < ran[0]->calls.size(); ++i) {
    const KernelRecord& r0 = ran[0]->calls[i];
    char line[200];
    std::snprintf(line, sizeof line, "%3d  %-21s %-9s %-31s %-5s", r0.index,
                  clip(std::string(static_cast<std::size_t>(r0.depth) * 2, ' ') + r0.op, 21).c_str(), r0.phase.c_str(),
                  clip(r0.shapes, 31).c_str(), r0.dtype.c_str());
    std::string s = line;
    for (const KernelTrace* t : ran) {
      const KernelRecord& r = t->calls[i];
      char cell[96];
      std::snprintf(cell, sizeof cell, " | %-10s %9.1f %6s", clip(r.impl, 10).c_str(), r.time_us,
                    num_or_dash("%.1f", rates(r, roof).pct).c_str());
      s += cell;
    }
    out << s << "\n";
  }
}

void print_summary(const std::vector<const KernelTrace*>& ran, std::ostream& out) {
  // Ops in order of first appearance in the first trace, then any others.
  std::vector<std::string> ops;
  for (const KernelTrace* t : ran)
    for (const KernelRecord& r : t->calls)
      if (std::find(ops.begin(), ops.end(), r.op) == ops.end()) ops.push_back(r.op);
  std::string head = "per op (top-level calls):  op                   ";
  for (const KernelTrace* t : ran) head += " | " + pad(clip(t->impl, 10), 10) + "  n   time_us  share";
  out << head << "\n";
  for (const std::string& op : ops) {
    std::string line = "                            " + pad(clip(op, 21), 21);
    for (const KernelTrace* t : ran) {
      int n = 0;
      double us = 0;
      for (const KernelRecord& r : t->calls)
        if (r.op == op && r.depth == 0) ++n, us += r.time_us;
      char cell[96];
      std::snprintf(cell, sizeof cell, " | %10s %3d %9.1f %5.1f%%", "", n, us,
                    t->kernel_us > 0 ? 100.0 * us / t->kernel_us : 0.0);
      line += cell;
    }
    out << line << "\n";
  }
}

nlohmann::ordered_json num_or_null(double v) {
  return (std::isnan(v) || v < 0) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
}

}  // namespace

const std::vector<std::string>& kernel_impl_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const ImplSpec& s : impl_specs()) v.push_back(s.name);
    return v;
  }();
  return names;
}

std::vector<std::string> parse_impl_list(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream ss(value);
  std::string item;
  const std::vector<std::string>& names = kernel_impl_names();
  while (std::getline(ss, item, ',')) {
    LOOM_CHECK(std::find(names.begin(), names.end(), item) != names.end(), "--impl: unknown implementation '", item,
               "' in '", value, "' (expected a comma-separated list of ", join(names), ")");
    LOOM_CHECK(std::find(out.begin(), out.end(), item) == out.end(), "--impl: '", item, "' is listed twice in '",
               value, "'");
    out.push_back(item);
  }
  LOOM_CHECK(!out.empty() && value.back() != ',', "--impl: expected a comma-separated list of ", join(names),
             ", got '", value, "'");
  return out;
}

std::vector<KernelTrace> trace_training_step(const KernelTraceConfig& c) {
  LOOM_CHECK(c.batch >= 1 && c.seq_len >= 1, "loom trace --kernels: --batch-size and --seq-len must be >= 1");
  LOOM_CHECK(c.repeats >= 1, "loom trace --kernels: --repeats must be >= 1, got ", c.repeats);
  LOOM_CHECK(models::is_text_arch(c.model.arch), "loom trace --kernels: ", models::arch_name(c.model.arch),
             " reads account metadata; trace one of the text architectures (lstm, bilstm, cnn, cnn-lstm, "
             "lstm-cnn, bow)");
  LOOM_CHECK(c.precision != ops::Precision::F16,
             "loom trace --kernels: --precision fp16 needs the trainer's loss scaler, which this step leaves out; "
             "use fp32 or bf16");
  require_usable(c.device);
  std::vector<KernelTrace> out;
  for (const std::string& impl : c.impls) out.push_back(run_one(c, impl));
  return out;
}

Peak RooflineModel::peak_for(DType dtype) const {
  if (device.is_cpu()) return cpu;
  return ops::profile::gpu_peak(gpu_name, dtype, /*tf32=*/false);
}

RooflineModel roofline_for(Device device) {
  RooflineModel m;
  m.device = device;
  if (device.is_cpu()) {
    m.cpu = ops::profile::measure_cpu_peak();
  } else {
    const BuildInfo b = build_info();
    if (device.index < static_cast<int>(b.devices.size())) m.gpu_name = b.devices[device.index].name;
  }
  return m;
}

void print_kernel_trace(const std::vector<KernelTrace>& traces, const RooflineModel& roof, std::ostream& out) {
  std::vector<const KernelTrace*> ran;
  for (const KernelTrace& t : traces) {
    if (!t.skipped.empty()) out << "impl " << t.impl << ": skipped (" << t.skipped << ")\n";
    else ran.push_back(&t);
  }
  if (ran.empty()) {
    out << "no implementation ran\n";
    return;
  }
  out << "roofline: " << (roof.device.is_cpu() ? roof.cpu.source : roof.peak_for(DType::F32).source)
      << "\n  %roof = 100 * max(flops / peak_flops, bytes / peak_bytes) / time ('-': no cost model or no peak)\n";
  for (const KernelTrace* t : ran)
    out << "impl " << t->impl << ": " << t->calls.size() << " kernel calls, " << fmt("%.1f", t->kernel_us)
        << " us in kernels of a " << fmt("%.1f", t->step_us) << " us step ("
        << fmt("%.0f", t->step_us > 0 ? 100.0 * t->kernel_us / t->step_us : 0.0) << "%), loss "
        << fmt("%.6f", t->loss) << "\n";
  out << "\n";
  if (ran.size() == 1) {
    print_one_table(*ran[0], roof, out);
  } else if (same_sequence(ran)) {
    print_side_by_side(ran, roof, out);
  } else {
    out << "(the implementations ran different kernel sequences: one table each)\n";
    for (const KernelTrace* t : ran) {
      out << "\nimpl " << t->impl << ":\n";
      print_one_table(*t, roof, out);
    }
  }
  out << "\n";
  print_summary(ran, out);
}

void write_kernel_trace_jsonl(const std::string& path, const std::vector<KernelTrace>& traces,
                              const RooflineModel& roof) {
  std::ostringstream os;
  for (const KernelTrace& t : traces) {
    for (const KernelRecord& r : t.calls) {
      const Rates x = rates(r, roof);
      const nlohmann::ordered_json j = {
          {"type", "kernel"},   {"impl_requested", t.impl}, {"index", r.index},     {"depth", r.depth},
          {"op", r.op},         {"phase", r.phase},         {"impl", r.impl},       {"device", r.device},
          {"shapes", r.shapes}, {"dtype", r.dtype},         {"time_us", r.time_us}, {"flops", num_or_null(r.flops)},
          {"bytes", num_or_null(r.bytes)}, {"gflops", num_or_null(x.gflops)}, {"gbps", num_or_null(x.gbps)},
          {"pct_roofline", num_or_null(x.pct)}};
      os << j.dump() << "\n";
    }
    nlohmann::ordered_json step = {{"type", "step"}, {"impl_requested", t.impl}, {"ran", t.skipped.empty()}};
    if (t.skipped.empty()) {
      step["calls"] = t.calls.size();
      step["step_us"] = t.step_us;
      step["kernel_us"] = t.kernel_us;
      step["loss"] = t.loss;
    } else {
      step["skipped"] = t.skipped;
    }
    os << step.dump() << "\n";
  }
  io::write_file_atomic(path, os.str());
}

}  // namespace loom::train
