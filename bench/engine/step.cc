// bench/engine/step.cc: `loom bench step`, one whole training step of a named architecture, as
// `loom train` takes it (train/trainer.cc train_step): forward in the autocast region of
// --precision with dropout on, binary cross-entropy on the logits, backward through the tape,
// AdamW (lr 1e-3, weight decay 0.01). Inputs are synthetic token ids (uniform over the vocabulary
// past <pad> and <unk>, every row full length) and 0/1 targets, from a fixed seed.
//
// Validation before timing: the loss of the first step must be finite, and two models built from
// the same seed and stepped once on the same batch must end with the same bits in every parameter
// (on the CPU: loom's CPU kernels are deterministic; on a GPU atomics may reorder sums, so there the
// check is the finite loss alone). libtorch has no peer for a whole step: its column says "-".
//
// Work: no cost() model covers a whole model, so GFLOP/s, GB/s and % of roofline are left empty;
// the median time per step is the number to compare.
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/engine/engine.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/module.h"
#include "models/factory.h"
#include "models/model_config.h"
#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/loss.h"
#include "ops/optim.h"

namespace loom::bench {
namespace {

struct StepModel {
  std::unique_ptr<models::TextClassifier> model;
  std::unique_ptr<ops::AdamW> optimizer;
  std::vector<Tensor> params;
  Generator gen{7};
};

StepModel make_step_model(const models::ModelConfig& config, Device device) {
  StepModel m;
  m.model = models::make_text_model(config, 42, device);
  m.params = m.model->trainable_parameters();
  ops::AdamWConfig a;
  a.lr = 1e-3f;
  m.optimizer = std::make_unique<ops::AdamW>(m.params, a);
  return m;
}

struct StepBatch {
  Tensor tokens, lengths, targets;
};

StepBatch make_batch(std::int64_t B, std::int64_t T, std::int64_t V, Device device) {
  std::uint64_t state = 0x57e9;  // splitmix64: a fixed, portable stream of token ids
  auto next = [&state] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(T * B));
  for (auto& t : tokens) t = 2 + static_cast<std::int32_t>(next() % static_cast<std::uint64_t>(V - 2));
  std::vector<float> targets(static_cast<std::size_t>(B));
  for (std::size_t b = 0; b < targets.size(); ++b) targets[b] = static_cast<float>(b % 2);
  StepBatch batch;
  batch.tokens = Tensor::from_vector(tokens, {T, B});
  batch.lengths = Tensor::from_vector(std::vector<std::int32_t>(static_cast<std::size_t>(B), static_cast<std::int32_t>(T)), {B});
  batch.targets = Tensor::from_vector(targets, {B, 1}).to(device);
  return batch;
}

// One training step; returns the loss (read back: the step is complete when this returns).
double train_step(StepModel& m, const StepBatch& batch, ops::Precision precision) {
  Tape tape;
  Tensor loss;
  {
    auto rec = tape.record();
    const ops::AutocastScope amp(precision);
    const Tensor logits = m.model->forward(batch.tokens, batch.lengths, layers::Phase::Train, m.gen);
    loss = ops::bce_with_logits(logits, batch.targets);
  }
  m.optimizer->zero_grad();
  tape.backward(loss);
  tape.clear();
  m.optimizer->step();
  return loss.item();
}

std::vector<std::int64_t> widths_of(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    LOOM_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos,
               "--widths takes positive integers separated by commas, got '", text, "'");
    out.push_back(std::stoll(item));
  }
  return out;
}

// "ok", or why the step cannot be trusted: a non-finite loss, or two identical steps that differ.
std::string validate_step(const models::ModelConfig& config, const StepBatch& batch, ops::Precision precision,
                          Device device, double* first_loss) {
  StepModel a = make_step_model(config, device), b = make_step_model(config, device);
  *first_loss = train_step(a, batch, precision);
  const double loss_b = train_step(b, batch, precision);
  if (!std::isfinite(*first_loss)) return "MISMATCH (the loss is not finite: " + fmt("%g", *first_loss) + ")";
  if (!device.is_cpu()) return "ok";
  Named pa, pb;
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    pa.emplace_back("param " + std::to_string(i), a.params[i].to(DType::F32).to(Device::cpu()).to_vector());
    pb.emplace_back("param " + std::to_string(i), b.params[i].to(DType::F32).to(Device::cpu()).to_vector());
  }
  pa.emplace_back("loss", std::vector<float>{static_cast<float>(*first_loss)});
  pb.emplace_back("loss", std::vector<float>{static_cast<float>(loss_b)});
  apply_test_hook("step", pb);
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (pa[i].second.size() != pb[i].second.size() ||
        std::memcmp(pa[i].second.data(), pb[i].second.data(), pa[i].second.size() * sizeof(float)) != 0)
      return "MISMATCH (two identical steps differ in " + pa[i].first + ")";
  return "ok";
}

}  // namespace

void run_step_family(Context& ctx) {
  const BenchRequest& r = ctx.req;
  models::ModelConfig config;
  config.arch = models::parse_arch(r.arch);
  config.vocab_size = r.vocab_size;
  config.embed_dim = r.embed_dim;
  config.hidden = r.hidden ? r.hidden : 128;
  config.layers = r.layers ? r.layers : 1;
  config.filters = r.filters ? r.filters : 100;
  if (!r.widths.empty()) config.widths = widths_of(r.widths);
  config.validate();
  const std::int64_t B = r.batch ? r.batch : 64, T = r.seq ? r.seq : 50;
  const ops::Precision precision = ops::parse_precision(r.precision);
  const StepBatch batch = make_batch(B, T, config.vocab_size, ctx.device);

  ctx.notes.push_back("step: " + config.summary() + "; forward (autocast " + r.precision +
                      ") + BCE-with-logits + backward + AdamW; synthetic tokens, every row full length");
  ctx.notes.push_back("validation: finite loss, and on the CPU two identical steps give the same bits; "
                      "no cost model for a whole step (GFLOP/s empty); libtorch has no step peer (\"-\")");
  ctx.shapes_summary = "1 step point";

  Row row;
  row.impl = ctx.device.is_cpu() ? "cpu" : "cuda";
  row.variant = r.arch;
  row.device_name = ctx.device_name;
  Point& p = row.point;
  p.family = "step";
  p.device = ctx.device.is_cpu() ? "cpu" : "cuda";
  p.dtype = r.precision;
  p.phase = "fwd+bwd";
  p.T = T, p.B = B, p.C = config.embed_dim, p.H = config.hidden, p.L = config.layers;
  p.F = config.filters, p.widths = config.widths;
  p.arch = r.arch, p.E = config.embed_dim, p.V = config.vocab_size;
  p.threads = num_threads();
  try {
    double loss = 0;
    row.status = validate_step(config, batch, precision, ctx.device, &loss);
    if (is_ok(row.status)) {
      row.rel_err = 0;
      StepModel m = make_step_model(config, ctx.device);
      time_row(ctx, [&] { train_step(m, batch, precision); }, ctx.warmup, ctx.reps, &row);
    }
  } catch (const std::exception& e) {
    row.status = std::string("error: ") + e.what();
  }
  finish_row(ctx, Peak{}, 0, std::move(row), ctx.rows);
}

}  // namespace loom::bench
