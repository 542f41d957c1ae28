// train/trainer.cc: the training loop (see trainer.h), as a sequence of named steps: check the
// options, open the run folder, load the data, build the model and what trains it, resume, then per
// epoch train -> evaluate -> record -> checkpoint, and at the end the test report and the plot.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "ops/autograd.h"
#include "core/error.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/optim.h"
#include "core/parallel.h"
#include "io/atomic_file.h"
#include "train/bot_run.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"
#include "train/grad_scaler.h"
#include "train/metrics_log.h"
#include "train/plot.h"
#include "train/progress.h"
#include "train/run_setup.h"
#include "train/runtime.h"
#include "train/schedule.h"
#include "train/source_version.h"
#include "train/text_data.h"

namespace loom::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The dropout stream is separate from the init streams (make_model derives those from the seed).
std::uint64_t dropout_seed(std::uint64_t seed) { return seed * 0x9E3779B97F4A7C15ULL + 0x5DEECE66DULL; }

std::string fmt(double v, int digits = 4) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

// ---- before the first epoch ----

// fp16's loss scaler from the flags (PyTorch's factors; the first scale and the interval are flags).
GradScalerConfig grad_scaler_config(const TrainOptions& o) {
  GradScalerConfig c;
  c.init_scale = o.loss_scale_init;
  c.growth_interval = o.loss_scale_growth_interval;
  return c;
}

// Refuses bad flags before anything is read or written; returns what early stopping watches.
MonitorSpec check_options(const TrainOptions& o) {
  const ops::Precision precision = check_precision(o.precision);
  if (precision == ops::Precision::F16) GradScaler check(grad_scaler_config(o));  // throws on bad scaler flags
  apply_threads(o.threads);
  LOOM_CHECK(o.epochs >= 1, "--epochs must be >= 1, got ", o.epochs);
  LOOM_CHECK(o.batch_size >= 1, "--batch-size must be >= 1, got ", o.batch_size);
  LOOM_CHECK(o.max_len >= 1, "--max-len must be >= 1, got ", o.max_len);
  LOOM_CHECK(o.clip_grad_norm >= 0, "--clip-grad-norm must be >= 0 (0 = off), got ", o.clip_grad_norm);
  LOOM_CHECK(o.nonfinite == "error" || o.nonfinite == "skip", "--nonfinite must be error or skip, got '",
             o.nonfinite, "'");
  LOOM_CHECK(o.threshold > 0 && o.threshold < 1, "--threshold must be in (0, 1), got ", o.threshold);
  LOOM_CHECK(o.lr > 0, "--lr must be positive, got ", o.lr);
  LOOM_CHECK(o.word_dropout >= 0 && o.word_dropout < 1, "--word-dropout must be in [0, 1), got ", o.word_dropout);
  check_ngram_flags(o);  // --word-ngrams, --buckets, --char-ngrams: fasttext only, in range
  check_bot_options(o);
  return parse_monitor(o.monitor);
}

// The run folder, and when resuming what it holds. Nothing is created yet.
struct RunFolder {
  std::string dir;
  bool resuming = false;
  std::optional<RunConfig> saved;  // config.json of the run being resumed
  TrainerState state;              // its trainer_state.json (all zero for a new run)
};

RunFolder open_run_folder(const TrainOptions& o) {
  RunFolder f;
  f.resuming = !o.resume.empty();
  if (f.resuming) {
    f.saved = read_run_config(o.resume);
    f.state = read_trainer_state(o.resume);
    if (f.state.stopped_early)
      LOOM_THROW(Error, o.resume, ": this run stopped early at epoch ", f.state.epoch, "; there is nothing to resume");
    if (f.state.epoch >= o.epochs)
      LOOM_THROW(Error, o.resume, ": this run already finished ", f.state.epoch, " of ", o.epochs,
                 " epochs; pass a larger --epochs to train further");
  }
  f.dir = f.resuming ? o.resume : (o.ckpt_dir.empty() ? default_run_dir(o.arch) : o.ckpt_dir);
  if (!f.resuming && std::filesystem::exists(f.dir + "/trainer_state.json"))
    LOOM_THROW(Error, f.dir, " already holds a run; continue it with --resume ", f.dir, " or choose another --ckpt-dir");
  return f;
}

// The splits, encoded with the vocabulary of the run being resumed (if any). Without validation
// data, a val_* monitor falls back to train_loss.
PreparedData load_data(const TrainOptions& o, const RunFolder& f, MonitorSpec& monitor, std::ostream& out) {
  const data::MetaSchema* schema = f.saved && f.saved->metadata.size() > 0 ? &f.saved->metadata : nullptr;
  PreparedData p = prepare_data(o, f.saved ? &f.saved->vocab : nullptr, out, schema);
  if (f.saved && f.saved->label_names != p.label_names)
    LOOM_THROW(CheckpointError, f.dir, ": the run was trained on labels ", data::join_names(f.saved->label_names),
               " but ", o.input, " has ", data::join_names(p.label_names));
  if (p.val_rows.empty() && monitor.name.rfind("val_", 0) == 0) {
    out << "no validation data: early stopping monitors train_loss instead of " << monitor.name << "\n";
    monitor = parse_monitor("train_loss");
  }
  return p;
}

// config.json of this run: the options as given, minus those that only steer this one call.
RunConfig run_config(const TrainOptions& o, const models::ModelConfig& mc, const PreparedData& p,
                     const RunFolder& f) {
  RunConfig rc;
  rc.model = mc;
  rc.tokenizer = tokenizer_config(o);
  rc.vocab = p.vocab;
  rc.label_names = p.label_names;
  rc.task = p.task;
  rc.max_len = o.max_len;
  rc.threshold = o.threshold;
  rc.training = o;
  rc.training.resume.clear();
  rc.training.stop_after_epochs = 0;
  rc.training.ckpt_dir = f.dir;
  rc.weights = f.resuming ? f.saved->weights : "last.safetensors";  // "last" until a best epoch exists
  rc.git_sha = source_version();  // the commit this binary was built from
  rc.metadata = p.meta_schema;
  rc.group_col = o.group_col;
  return rc;
}

// What the epochs share: the data, the model and everything that trains it. The objects live in
// train(); this bundles references so each step takes one argument instead of ten.
struct Loop {
  const TrainOptions& o;
  const PreparedData& p;
  std::int64_t num_labels, outputs;
  Device device;
  models::Classifier& model;
  const std::vector<std::string>& param_names;
  const std::vector<Tensor>& params;
  ops::AdamW& optimizer;
  const Objective& objective;
  const data::BatchOptions& bopts;
  LrSchedule& schedule;
  EarlyStopping& stopper;
  Generator& gen;
  const MonitorSpec& monitor;
  const std::string& dir;
  ops::Precision precision;  // the autocast region of each forward and loss (F32: none)
  GradScaler* scaler;        // fp16's loss scaler; null for fp32 and bf16
};

// Puts the weights, optimizer moments, schedule, early stopping and dropout generator back where
// the resumed run left them; refuses a folder whose files come from different epochs.
void resume_from(const Loop& l, const TrainerState& state) {
  const auto meta = load_weights(l.dir + "/last.safetensors", l.model);
  const int w_epoch = meta.count("epoch") ? std::atoi(meta.at("epoch").c_str()) : -1;
  const int o_epoch = load_optimizer(l.dir + "/optimizer.safetensors", l.optimizer, l.param_names);
  if (w_epoch != state.epoch || o_epoch != state.epoch)
    LOOM_THROW(CheckpointError, l.dir, ": last.safetensors (epoch ", w_epoch, "), optimizer.safetensors (epoch ",
               o_epoch, ") and trainer_state.json (epoch ", state.epoch, ") disagree: the run was killed while saving; "
               "start it again");
  l.schedule.load_state(state.schedule);
  l.stopper.load_state(state.early_stopping);
  l.gen.set_state(state.gen_seed, state.gen_offset);
  // A run resumed in fp16 continues its scaler; one that switches to fp16 on resume starts afresh.
  if (l.scaler && !state.grad_scaler.is_null()) l.scaler->load_state(state.grad_scaler);
}

void print_header(const Loop& l, const models::ModelConfig& mc, std::int64_t num_parameters,
                  std::int64_t steps_per_epoch, const RunFolder& f, std::ostream& out) {
  const TrainOptions& o = l.o;
  out << "model: " << mc.summary() << "; " << num_parameters << " parameters"
      << (o.freeze_embeddings ? " (embeddings frozen)" : "") << "\n";
  out << "training: AdamW lr " << o.lr << " betas (0.9, 0.999) eps 1e-08 weight_decay " << o.weight_decay
      << "; schedule " << o.lr_schedule << (o.warmup_steps ? " warmup " + std::to_string(o.warmup_steps) : "")
      << "; clip-grad-norm " << o.clip_grad_norm << "; batch " << o.batch_size << ", max-len " << o.max_len << ", "
      << o.epochs << " epochs of " << steps_per_epoch << " steps; seed " << o.seed << "; " << num_threads()
      << " CPU threads\n";
  out << "precision: " << ops::precision_name(l.precision);
  if (l.precision == ops::Precision::F32) out << "\n";
  else
    out << " (autocast forward and loss; F32 master weights, gradients, clipping and AdamW)"
        << (l.scaler ? "; loss scaler: init " + fmt(l.scaler->config().init_scale, 0) + ", x" +
                           fmt(l.scaler->config().growth_factor, 1) + " after " +
                           std::to_string(l.scaler->config().growth_interval) + " finite steps, x" +
                           fmt(l.scaler->config().backoff_factor, 1) + " and skip on inf/NaN"
                     : std::string())
        << "\n";
  out << "loss: " << l.objective.describe() << "; early stopping on " << l.monitor.name << " (patience "
      << o.patience << ", restore best " << (o.restore_best ? "on" : "off") << ")\n";
  out << "run folder: " << f.dir << (f.resuming ? " (resuming after epoch " + std::to_string(f.state.epoch) + ")" : "")
      << "\n"
      << std::flush;
}

// ---- one epoch ----

// Correct decisions in one batch (multi-label: rows whose every label is right).
std::int64_t count_correct(const std::vector<float>& z, const data::Batch& b, data::TaskKind task, std::int64_t k,
                           double threshold) {
  const std::int64_t n = b.lengths.numel();
  std::int64_t correct = 0;
  if (task == data::TaskKind::MultiClass) {
    const std::int32_t* y = b.targets.data<std::int32_t>();
    for (std::int64_t i = 0; i < n; ++i) {
      const float* zi = z.data() + i * k;
      correct += (std::max_element(zi, zi + k) - zi) == y[i];
    }
    return correct;
  }
  // Sigmoid(z) >= threshold  <=>  z >= logit(threshold).
  const float cut = static_cast<float>(std::log(threshold / (1.0 - threshold)));
  const float* y = b.targets.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    bool all = true;
    for (std::int64_t j = 0; j < k; ++j) all = all && ((z[i * k + j] >= cut) == (y[i * k + j] > 0.5f));
    correct += all;
  }
  return correct;
}

// Running sums over the training steps of one epoch.
struct EpochTotals {
  double loss_sum = 0.0, norm_sum = 0.0;  // norm_sum: over the steps taken (a skipped step's is inf)
  std::int64_t seen = 0, correct = 0, steps = 0;
  std::int64_t skipped = 0;               // steps skipped: fp16's scaler (inf/NaN gradients), --nonfinite skip
  std::int64_t nonfinite = 0;             // ... of which for a non-finite loss or gradient (--nonfinite skip)
  std::vector<double> step_loss;          // each step's batch loss (TrainResult::step_loss)
};

// One optimizer step: forward and loss (in the autocast region of the run's precision), backward,
// the gradient norm (clipping rides along in the AdamW kernel as grad_scale: one pass over the
// gradients less), AdamW, the schedule. fp16 scales the loss and may skip the update (GradScaler::step);
// the schedule advances on a skipped step too, as a PyTorch loop calls scheduler.step() every
// iteration whatever scaler.step() did.
// A non-finite loss or gradient norm: the first parameter whose gradient holds a NaN or inf, by
// state_dict name ("" when every gradient is finite, e.g. only the loss overflowed). Only read on
// this rare path, so it may copy each gradient to the host.
std::string first_nonfinite_gradient(const Loop& l) {
  for (std::size_t i = 0; i < l.params.size(); ++i) {
    const Tensor& g = l.params[i].grad();
    if (!g.defined()) continue;
    for (const float v : g.to(DType::F32).to_vector())
      if (!std::isfinite(v)) return l.param_names[i];
  }
  return "";
}

// The --nonfinite policy, asked after the backward of a step whose loss or gradient norm is NaN or
// inf: "error" stops the run naming where (the checkpoints of earlier epochs are already on disk);
// "skip" returns, and the caller leaves the weights, moments and step counts as they were.
void on_nonfinite(const Loop& l, int epoch, std::int64_t step_in_epoch, double loss, double norm) {
  if (l.o.nonfinite == "skip") return;
  const std::string param = first_nonfinite_gradient(l);
  LOOM_THROW(Error, "epoch ", epoch, ", step ", step_in_epoch, ": non-finite ",
             std::isfinite(loss) ? "gradients (norm " + fmt(norm, 4) + ")" : "loss (" + fmt(loss, 4) + ")",
             param.empty() ? std::string(" (every gradient is finite)")
                           : "; the first parameter with a non-finite gradient is '" + param + "'",
             ". Lower --lr, keep --clip-grad-norm on, or use --nonfinite skip to skip such steps");
}

// The test hook TrainOptions::inject_nan_grad_at_step: one NaN in the last parameter's gradient.
void inject_nan_gradient(const Loop& l) {
  Tensor g = l.params.back().grad();  // a handle: writing through it changes the gradient itself
  LOOM_CHECK(g.defined() && g.device().is_cpu() && g.dtype() == DType::F32, "inject_nan_grad_at_step: CPU F32 only");
  g.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
}

void train_step(const Loop& l, const data::Batch& batch, double lr, Tensor& clip_scale, EpochTotals& t, int epoch,
                std::int64_t global_step) {
  l.optimizer.config().lr = static_cast<float>(lr);
  const float loss_scale = l.scaler ? l.scaler->scale() : 1.0f;
  Tape tape;
  Tensor logits, loss, seed;
  {
    auto rec = tape.record();
    {
      // One region per step: the low-precision weight copies are made from the F32 masters as the
      // forward first reads them and dropped at the end of the region, so they are fresh after every
      // optimizer step. fp32 opens an F32 region: nothing is cast, the F32 path is the same.
      const ops::AutocastScope amp(l.precision);
      // --word-dropout: drawn from the run's generator before the model's dropout masks, so a
      // resumed run (which restores the generator) draws the same ones.
      const Tensor tokens = data::word_dropout(batch.tokens, batch.lengths, l.o.word_dropout, l.gen);
      logits = l.model.forward({tokens, batch.lengths, batch.meta}, layers::Phase::Train, l.gen);
      loss = l.objective(logits, batch.targets);
    }
    seed = l.scaler ? ops::scale(loss, loss_scale) : loss;  // the backward starts from loss * S
  }
  l.optimizer.zero_grad();
  tape.backward(seed);
  tape.clear();  // activations freed before the optimizer touches memory
  if (l.o.inject_nan_grad_at_step == global_step) inject_nan_gradient(l);
  // The loss is read before the update so that a non-finite one never reaches the weights.
  const double batch_loss = loss.item();
  if (l.scaler) {
    // fp16: inf/NaN gradients are the loss scaler's (skip and back off, as PyTorch's GradScaler);
    // --nonfinite judges the loss, which is F32 and cannot overflow from the scaling.
    if (!std::isfinite(batch_loss)) {
      on_nonfinite(l, epoch, t.steps + 1, batch_loss, ops::grad_norm(l.params));
      ++t.skipped, ++t.nonfinite;
      t.step_loss.push_back(batch_loss);
      l.schedule.step();
      return;
    }
    const GradScaler::Step s = l.scaler->step(l.optimizer, l.params, l.o.clip_grad_norm, loss_scale, clip_scale);
    if (s.taken) t.norm_sum += s.norm;
    else ++t.skipped;
  } else {
    const double norm = ops::grad_norm(l.params);
    if (!std::isfinite(batch_loss) || !std::isfinite(norm)) {
      on_nonfinite(l, epoch, t.steps + 1, batch_loss, norm);
      // --nonfinite skip: no update; the schedule advances as on an fp16 skip, and the batch is left
      // out of the epoch's loss and accuracy (a NaN would poison the mean).
      ++t.skipped, ++t.nonfinite;
      t.step_loss.push_back(batch_loss);
      l.schedule.step();
      return;
    }
    t.norm_sum += norm;
    if (l.o.clip_grad_norm > 0) {
      set_grad_scale(clip_scale, ops::clip_coefficient(norm, l.o.clip_grad_norm));
      l.optimizer.step(clip_scale);
    } else {
      l.optimizer.step();
    }
  }
  l.schedule.step();
  // The one read-back per step besides the loss: the logits for the running accuracy.
  const std::int64_t b = batch.lengths.numel();
  t.loss_sum += batch_loss * static_cast<double>(b);
  t.step_loss.push_back(batch_loss);
  t.correct += count_correct(logits.to_vector(), batch, l.p.task, l.outputs, l.o.threshold);
  t.seen += b;
}

// The training half of an epoch: the seeded batch order, one step per batch, the progress bar.
// steps_before: the optimizer steps of earlier epochs (the step count the hook and messages use).
EpochTotals train_epoch(const Loop& l, int epoch, std::int64_t steps_before, Tensor& clip_scale, std::ostream* bar) {
  const auto batches = data::epoch_batches(l.p.train_rows, l.bopts, static_cast<std::uint64_t>(epoch));
  ProgressBar pbar(bar, epoch, l.o.epochs, static_cast<std::int64_t>(batches.size()));
  EpochTotals t;
  for (std::size_t s = 0; s < batches.size(); ++s) {
    const data::Batch batch = data::collate(l.p.train_rows, batches[s], l.o.max_len, l.p.task, l.num_labels);
    const double lr = l.schedule.lr();
    train_step(l, batch, lr, clip_scale, t, epoch, steps_before + static_cast<std::int64_t>(s) + 1);
    ++t.steps;
    pbar.update(static_cast<std::int64_t>(s + 1), t.seen, t.loss_sum / t.seen, static_cast<double>(t.correct) / t.seen,
                lr);
  }
  pbar.finish();
  return t;
}

// Everything known about one finished epoch. The progress line, the metrics rows, the checkpoint
// metadata, trainer_state.json and TrainResult all read it, so they cannot disagree.
struct EpochRecord {
  int epoch = 0;
  std::int64_t step = 0;  // optimizer steps done, in total
  double train_loss = 0, train_accuracy = 0, grad_norm = 0;
  double lr = 0;          // the learning rate of the epoch's last step
  std::int64_t skipped = 0;        // fp16 steps skipped this epoch (0 without a scaler)
  std::int64_t skipped_total = 0;  // ... and in the whole run
  std::int64_t nonfinite = 0;      // steps skipped this epoch for a non-finite loss or gradient (--nonfinite skip)
  double loss_scale = kNone;       // the scaler's scale at the end of the epoch (fp16 only)
  double train_seconds = 0, epoch_seconds = 0, tweets_per_s = 0;
  bool has_val = false;
  EvalMetrics val;
  double monitored = 0;   // the early-stopping metric's value
  bool improved = false;  // a new best: best.safetensors is written
  bool reduced = false;   // the plateau schedule lowered the learning rate
};

// The second half of an epoch: validation, then early stopping and the plateau schedule see the
// monitored value.
EpochRecord record_epoch(const Loop& l, int epoch, std::int64_t step, const EpochTotals& t,
                         Clock::time_point epoch_start) {
  EpochRecord r;
  r.epoch = epoch;
  r.step = step;
  r.train_seconds = seconds_since(epoch_start);
  r.train_loss = t.loss_sum / std::max<std::int64_t>(t.seen, 1);
  r.train_accuracy = static_cast<double>(t.correct) / std::max<std::int64_t>(t.seen, 1);
  // Over the steps taken; none taken (every fp16 step skipped) leaves it blank, not a fake 0.
  const std::int64_t taken = t.steps - t.skipped;
  r.grad_norm = t.steps == 0 || taken > 0 ? t.norm_sum / std::max<std::int64_t>(taken, 1) : kNone;
  r.skipped = t.skipped;
  r.nonfinite = t.nonfinite;
  if (l.scaler) {
    r.skipped_total = l.scaler->skipped_steps();
    r.loss_scale = l.scaler->scale();
  }
  r.has_val = !l.p.val_rows.empty();
  if (r.has_val) {
    const Scores scores =
        predict_scores(l.model, l.p.val_rows, l.p.task, l.num_labels, l.o.max_len, &l.objective, 256, l.precision);
    r.val = evaluate(scores, l.p.val_rows, l.p.task, l.p.label_names, l.o.threshold).metrics;
  }
  const std::string& m = l.monitor.name;
  r.monitored = m == "train_loss" ? r.train_loss : m == "train_accuracy" ? r.train_accuracy : r.val.get(m.substr(4));
  r.lr = l.schedule.lr();
  r.improved = l.stopper.update(r.monitored, epoch);
  r.reduced = l.schedule.epoch_end(r.monitored);
  r.epoch_seconds = seconds_since(epoch_start);
  r.tweets_per_s = static_cast<double>(t.seen) / std::max(r.train_seconds, 1e-9);
  return r;
}

// The Keras-style line, with " *" on a new best and the plateau's new learning rate.
std::string progress_line(const EpochRecord& r, int epochs, double lr_now) {
  const EvalMetrics& v = r.val;
  std::string line = epoch_line(r.epoch, epochs, r.epoch_seconds,
                                {{"loss", r.train_loss},
                                 {"accuracy", r.train_accuracy},
                                 {"val_loss", v.loss},
                                 {"val_accuracy", v.accuracy},
                                 {"val_f1", v.f1},
                                 {"val_auc", v.auc},
                                 {"lr", r.lr},
                                 {"grad_norm", r.grad_norm},
                                 {"tweets/s", r.tweets_per_s}});
  if (!std::isnan(r.loss_scale))
    line += " - skipped: " + std::to_string(r.skipped) + " - loss_scale: " + fmt(r.loss_scale, 0);
  if (r.nonfinite > 0) line += " - non-finite steps skipped: " + std::to_string(r.nonfinite);
  if (r.improved) line += " *";
  if (r.reduced) line += " (lr reduced to " + fmt(lr_now, 6) + ")";
  return line;
}

// A metrics row of an evaluated split (val each epoch, test at the end).
EpochRow eval_row(int epoch, std::int64_t step, const std::string& split, const EvalMetrics& m) {
  EpochRow row;
  row.epoch = epoch;
  row.step = step;
  row.split = split;
  row.loss = m.loss;
  row.accuracy = m.accuracy;
  row.precision = m.precision;
  row.recall = m.recall;
  row.f1 = m.f1;
  row.auc = m.auc;
  return row;
}

// metrics.csv/jsonl rows of an epoch: train, then val when there is validation data.
std::vector<EpochRow> metrics_rows(const EpochRecord& r) {
  EpochRow train;
  train.epoch = r.epoch;
  train.step = r.step;
  train.split = "train";
  train.loss = r.train_loss;
  train.accuracy = r.train_accuracy;
  train.lr = r.lr;
  train.grad_norm = r.grad_norm;
  train.time_s = r.train_seconds;
  train.tweets_per_s = r.tweets_per_s;
  train.skipped_steps = static_cast<double>(r.skipped);
  std::vector<EpochRow> rows{train};
  if (r.has_val) {
    EpochRow val = eval_row(r.epoch, r.step, "val", r.val);
    val.lr = r.lr;
    val.time_s = r.epoch_seconds - r.train_seconds;
    rows.push_back(val);
  }
  return rows;
}

void add_epoch(TrainResult& result, const EpochRecord& r) {
  result.val_history.push_back(r.val);
  result.train_loss.push_back(r.train_loss);
  result.train_accuracy.push_back(r.train_accuracy);
  result.epoch_seconds.push_back(r.epoch_seconds);
  result.nonfinite_skipped += r.nonfinite;
}

TrainerState trainer_state(const Loop& l, const EpochRecord& r) {
  TrainerState s;
  s.epoch = r.epoch;
  s.step = r.step;
  s.schedule = l.schedule.state();
  s.early_stopping = l.stopper.state();
  s.gen_seed = l.gen.seed();
  s.gen_offset = l.gen.offset();
  if (l.scaler) s.grad_scaler = l.scaler->state();
  s.data_seed = l.o.seed;
  s.stopped_early = l.stopper.should_stop() && r.epoch < l.o.epochs;
  s.finished = s.stopped_early || r.epoch == l.o.epochs;
  return s;
}

// Best (if improved), last, optimizer, then the state that names them: trainer_state.json is
// written last so a run killed mid-save is caught by the epoch stamps on --resume.
TrainerState save_checkpoint(const Loop& l, const EpochRecord& r, RunConfig& rc) {
  const std::map<std::string, std::string> meta{
      {"epoch", std::to_string(r.epoch)}, {"monitor", l.monitor.name}, {"value", fmt(r.monitored, 8)}};
  if (r.improved) {
    save_weights(l.dir + "/best.safetensors", l.model, meta);
    if (rc.weights != "best.safetensors" && l.o.restore_best) {
      rc.weights = "best.safetensors";
      write_run_config(l.dir, rc);
    }
  }
  // The two-phase commit of train/checkpoint.h: a kill at any point leaves a resumable folder.
  save_weights(l.dir + "/last.safetensors" + kPendingSuffix, l.model, meta);
  save_optimizer(l.dir + "/optimizer.safetensors" + kPendingSuffix, l.optimizer, l.param_names, r.epoch);
  const TrainerState state = trainer_state(l, r);
  commit_epoch_checkpoint(l.dir, state);
  return state;
}

// ---- after the last epoch ----

// The test split's report (text and JSON files, the log, a metrics row).
void test_report(const Loop& l, int epoch, std::int64_t step, MetricsLog& log, TrainResult& result,
                 std::ostream& out) {
  const PreparedData& p = l.p;
  const Scores scores =
      predict_scores(l.model, p.test_rows, p.task, l.num_labels, l.o.max_len, &l.objective, 256, l.precision);
  Evaluation ev = evaluate(scores, p.test_rows, p.task, p.label_names, l.o.threshold);
  out << "\ntest: " << p.test_rows.size() << " tweets [" << p.test_source << "], loss " << fmt(ev.metrics.loss) << "\n"
      << ev.text();
  io::write_file_atomic(l.dir + "/report_test.txt", ev.text());
  write_json_file(l.dir + "/report_test.json", ev.json());
  log.write(eval_row(epoch, step, "test", ev.metrics));
  result.test = std::move(ev);
  result.test_scores = scores;
  result.test_truth.clear();
  for (const data::EncodedExample& r : p.test_rows) {
    data::EncodedExample t;
    t.label = r.label;
    t.targets = r.targets;
    result.test_truth.push_back(std::move(t));
  }
  result.label_names = p.label_names;
  result.test_rows = static_cast<std::int64_t>(p.test_rows.size());
}

// Best weights back, config.json naming the weights eval/predict load, the test report, the plot.
void finish_run(const Loop& l, int epoch, std::int64_t step, RunConfig& rc, MetricsLog& log, TrainResult& result,
                Clock::time_point run_start, std::ostream& out) {
  const TrainOptions& o = l.o;
  if (o.restore_best && l.stopper.has_best() && l.stopper.best_epoch() != epoch) {
    load_weights(l.dir + "/best.safetensors", l.model);
    out << "restored the best weights: epoch " << l.stopper.best_epoch() << ", " << l.monitor.name << " "
        << fmt(l.stopper.best()) << "\n";
  }
  rc.weights = o.restore_best && l.stopper.has_best() ? "best.safetensors" : "last.safetensors";
  write_run_config(l.dir, rc);
  if (!l.p.test_rows.empty()) test_report(l, epoch, step, log, result, out);
  const PlotResult plot = plot_curves(l.dir, log.rows());
  if (plot.ascii.empty()) out << "\ntraining curves: " << plot.path << "\n";
  else out << "\ntraining curves (no gnuplot on PATH; also in " << plot.path << "):\n" << plot.ascii;
  out << "model saved in " << l.dir << " (" << rc.weights << ", " << fmt(seconds_since(run_start), 1)
      << " s in all)\n"
      << std::flush;
}

}  // namespace

TrainResult train(const TrainOptions& options, std::ostream& out, std::ostream* bar) {
  const auto run_start = Clock::now();
  const TrainOptions o = resolve_bot_options(options);  // --accounts implies --group-col
  MonitorSpec monitor = check_options(o);
  if (!o.encoder.empty()) return train_user_stage_only(o, out);  // --encoder RUN: the user stage only
  RunFolder folder = open_run_folder(o);
  const Device device = resolve_device(o.device, out);
  const ops::Precision precision = check_precision(o.precision);
  note_precision(precision, device, out);
  const Impl impl = resolve_impl(o.impl, o.deterministic, device);
  PreparedData p = load_data(o, folder, monitor, out);
  add_fasttext_ngrams(o, p, out);  // --arch fasttext: the hashed n-grams of every split
  const std::int64_t num_labels = static_cast<std::int64_t>(p.label_names.size());
  const std::int64_t outputs = p.task == data::TaskKind::Binary ? 1 : num_labels;

  // ---- model, optimizer, loss, schedule ----
  const models::ModelConfig mc = model_config(o, p.vocab.size(), outputs, impl, p.meta_schema.size());
  std::unique_ptr<models::Classifier> model = build_model(o, mc, p.vocab, folder.resuming, device, out);
  // The metadata scaler: fitted on the training rows only (never val / test), before the first
  // step; a resumed run keeps the buffers its weights file holds (resume_from loads them).
  if (model->uses_meta() && !folder.resuming) {
    const MetaScaler scaler = fit_meta_scaler(p.train_rows);
    model->set_meta_scaler(scaler.mean, scaler.std);
    out << describe_scaler(scaler, p.meta_schema.feature_names, static_cast<std::int64_t>(p.train_rows.size()))
        << "\n";
    out << fit_meta_encoding(*model, mc, scaler, p.train_rows);  // --meta-encoding ple: the training bins
  }
  const std::vector<std::string> param_names = trainable_names(*model);
  const std::vector<Tensor> params = model->trainable_parameters();
  LOOM_CHECK(params.size() == param_names.size(), "trainer: parameter names and tensors disagree");
  ops::AdamW optimizer(params, adamw_config(o));
  const Objective objective(p.task, num_labels, data::label_counts(p.train),
                            static_cast<std::int64_t>(p.train.examples.size()), o.pos_weight, o.class_weight, device);
  const data::BatchOptions bopts = batch_options(o);
  const auto n_train = static_cast<std::int64_t>(p.train_rows.size());
  const std::int64_t steps_per_epoch = (n_train + o.batch_size - 1) / o.batch_size;
  LrSchedule schedule(schedule_config(o, steps_per_epoch, monitor));
  EarlyStopping stopper(monitor, o.patience, o.min_delta);
  Generator gen(dropout_seed(o.seed));
  std::optional<GradScaler> scaler;  // fp16 only: bf16 has F32's exponent range
  if (precision == ops::Precision::F16) scaler.emplace(grad_scaler_config(o));
  const Loop loop{o,         p,         num_labels, outputs, device,  *model, param_names, params,
                  optimizer, objective, bopts,      schedule, stopper, gen,   monitor,     folder.dir,
                  precision, scaler ? &*scaler : nullptr};

  RunConfig rc = run_config(o, mc, p, folder);
  if (folder.resuming) {
    out << settle_interrupted_save(folder.dir, folder.state.epoch);  // a kill during the last save
    resume_from(loop, folder.state);
  }
  // Created only now, so a run that fails on its data or flags leaves no empty folder behind.
  std::filesystem::create_directories(folder.dir);
  write_run_config(folder.dir, rc);
  // For the baselines (scikit-learn on the same features and users) and for the user stage.
  if (p.meta_schema.size() > 0) write_features_csv(folder.dir, p, o.group_col);
  if (!p.train_keys.empty()) write_splits_csv(folder.dir, p);

  TrainResult result;
  result.run_dir = folder.dir;
  result.num_parameters = model->num_parameters();
  print_header(loop, mc, result.num_parameters, steps_per_epoch, folder, out);

  // ---- the epochs ----
  MetricsLog log(folder.dir, folder.resuming ? folder.state.epoch : -1);
  Tensor clip_scale = Tensor::full({1}, 1.0, DType::F32, device);
  std::int64_t global_step = folder.state.step;
  int epochs_this_call = 0;
  int epoch = folder.state.epoch;
  while (epoch < o.epochs) {
    ++epoch;
    const auto epoch_start = Clock::now();
    const EpochTotals totals = train_epoch(loop, epoch, global_step, clip_scale, bar);
    result.step_loss.insert(result.step_loss.end(), totals.step_loss.begin(), totals.step_loss.end());
    global_step += totals.steps;
    const EpochRecord r = record_epoch(loop, epoch, global_step, totals, epoch_start);
    out << progress_line(r, o.epochs, schedule.lr()) << "\n" << std::flush;
    for (const EpochRow& row : metrics_rows(r)) log.write(row);
    add_epoch(result, r);
    const TrainerState state = save_checkpoint(loop, r, rc);

    ++epochs_this_call;
    if (state.stopped_early) {
      out << "early stopping: " << monitor.name << " has not improved for " << stopper.wait() << " epochs (best "
          << fmt(stopper.best()) << " at epoch " << stopper.best_epoch() << ")\n";
      result.stopped_early = true;
      break;
    }
    if (o.stop_after_epochs > 0 && epochs_this_call >= o.stop_after_epochs && epoch < o.epochs) {
      result.interrupted = true;
      break;
    }
  }
  result.epochs_done = epoch;
  result.best_epoch = stopper.best_epoch();
  result.best_value = stopper.best();
  result.precision = ops::precision_name(precision);
  if (scaler) {
    result.skipped_steps = scaler->skipped_steps();
    result.loss_scale = scaler->scale();
  }
  if (result.interrupted) {
    out << "stopped after epoch " << epoch << "; continue with: loom train --resume " << folder.dir << "\n";
    return result;
  }
  finish_run(loop, epoch, global_step, rc, log, result, run_start, out);
  if (!o.user_model.empty()) result.user = train_user_model(o, *model, p, folder.dir, out);
  return result;
}

}  // namespace loom::train
