// train/trainer.cc: the training loop (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "ops/autograd.h"
#include "core/error.h"
#include "ops/optim.h"
#include "core/parallel.h"
#include "data/embeddings.h"
#include "io/atomic_file.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"
#include "train/metrics_log.h"
#include "train/plot.h"
#include "train/progress.h"
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

models::ModelConfig model_config(const TrainOptions& o, std::int64_t vocab_size, std::int64_t outputs, Impl impl) {
  models::ModelConfig c;
  if (!o.preset.empty()) {
    c = models::preset(o.preset);  // the preset decides arch and sizes
  } else {
    c.arch = models::parse_arch(o.arch);
    c.embed_dim = o.embed_dim;
    c.hidden = o.hidden;
    c.layers = o.layers;
    c.dropout = static_cast<float>(o.dropout);
    c.filters = o.filters;
    c.widths = o.widths;
  }
  c.vocab_size = vocab_size;
  c.num_outputs = outputs;
  c.lstm_impl.impl = impl;
  c.conv_impl = impl;
  c.validate();
  return c;
}

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

std::string fmt(double v, int digits = 4) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

}  // namespace

TrainResult train(const TrainOptions& options, std::ostream& out, std::ostream* bar) {
  const TrainOptions& o = options;
  const auto run_start = Clock::now();
  check_precision(o.precision);
  apply_threads(o.threads);
  LOOM_CHECK(o.epochs >= 1, "--epochs must be >= 1, got ", o.epochs);
  LOOM_CHECK(o.batch_size >= 1, "--batch-size must be >= 1, got ", o.batch_size);
  LOOM_CHECK(o.max_len >= 1, "--max-len must be >= 1, got ", o.max_len);
  LOOM_CHECK(o.clip_grad_norm >= 0, "--clip-grad-norm must be >= 0 (0 = off), got ", o.clip_grad_norm);
  LOOM_CHECK(o.threshold > 0 && o.threshold < 1, "--threshold must be in (0, 1), got ", o.threshold);
  LOOM_CHECK(o.lr > 0, "--lr must be positive, got ", o.lr);
  MonitorSpec monitor = parse_monitor(o.monitor);

  // ---- the run folder (and, when resuming, what it holds) ----
  const bool resuming = !o.resume.empty();
  std::optional<RunConfig> saved;
  TrainerState state;
  if (resuming) {
    saved = read_run_config(o.resume);
    state = read_trainer_state(o.resume);
    if (state.stopped_early)
      LOOM_THROW(Error, o.resume, ": this run stopped early at epoch ", state.epoch, "; there is nothing to resume");
    if (state.epoch >= o.epochs)
      LOOM_THROW(Error, o.resume, ": this run already finished ", state.epoch, " of ", o.epochs,
                 " epochs; pass a larger --epochs to train further");
  }
  const std::string dir = resuming ? o.resume : (o.ckpt_dir.empty() ? default_run_dir(o.arch) : o.ckpt_dir);
  if (!resuming && std::filesystem::exists(dir + "/trainer_state.json"))
    LOOM_THROW(Error, dir, " already holds a run; continue it with --resume ", dir, " or choose another --ckpt-dir");

  const Device device = resolve_device(o.device, out);
  const Impl impl = resolve_impl(o.impl, o.deterministic, device);

  // ---- data ----
  PreparedData p = prepare_data(o, saved ? &saved->vocab : nullptr, out);
  if (saved && saved->label_names != p.label_names)
    LOOM_THROW(CheckpointError, dir, ": the run was trained on labels ", data::join_names(saved->label_names),
               " but ", o.input, " has ", data::join_names(p.label_names));
  const std::int64_t num_labels = static_cast<std::int64_t>(p.label_names.size());
  const std::int64_t outputs = p.task == data::TaskKind::Binary ? 1 : num_labels;
  if (p.val_rows.empty() && monitor.name.rfind("val_", 0) == 0) {
    out << "no validation data: early stopping monitors train_loss instead of " << monitor.name << "\n";
    monitor = parse_monitor("train_loss");
  }

  // ---- model, optimizer, loss, schedule ----
  const models::ModelConfig mc = model_config(o, p.vocab.size(), outputs, impl);
  std::unique_ptr<models::TextClassifier> model = models::make_model(mc, o.seed, device);
  if (!o.embeddings.empty() && !resuming) {
    Tensor w = model->embedding_weight().to(Device::cpu()).clone();
    const data::EmbeddingCoverage cov = data::load_pretrained_embeddings(o.embeddings, p.vocab, w);
    model->embedding_weight().copy_from(w);
    out << "embeddings: " << o.embeddings << " (" << cov.format << ", dim " << cov.dim << "): " << data::describe(cov)
        << "\n";
  }
  model->set_freeze_embeddings(o.freeze_embeddings);
  std::vector<std::string> param_names;
  for (const auto& [name, t] : model->named_parameters())
    if (t.requires_grad()) param_names.push_back(name);
  const std::vector<Tensor> params = model->trainable_parameters();
  LOOM_CHECK(params.size() == param_names.size(), "trainer: parameter names and tensors disagree");
  ops::AdamWConfig adam;  // PyTorch's betas and eps
  adam.lr = static_cast<float>(o.lr);
  adam.weight_decay = static_cast<float>(o.weight_decay);
  ops::AdamW optimizer(params, adam);
  const Objective objective(p.task, num_labels, data::label_counts(p.train),
                            static_cast<std::int64_t>(p.train.examples.size()), o.pos_weight, o.class_weight, device);

  data::BatchOptions bopts;
  bopts.batch_size = o.batch_size;
  bopts.max_len = o.max_len;
  bopts.bucket_by_length = o.bucket_by_length;
  bopts.seed = o.seed;
  const auto n_train = static_cast<std::int64_t>(p.train_rows.size());
  const std::int64_t steps_per_epoch = (n_train + o.batch_size - 1) / o.batch_size;
  ScheduleConfig sc;
  sc.kind = parse_schedule_kind(o.lr_schedule);
  sc.lr = o.lr;
  sc.warmup_steps = o.warmup_steps;
  sc.total_steps = steps_per_epoch * o.epochs;
  sc.plateau_factor = o.plateau_factor;
  sc.plateau_patience = o.plateau_patience;
  sc.plateau_min_lr = o.plateau_min_lr;
  sc.plateau_mode = monitor.mode;
  LrSchedule schedule(sc);
  EarlyStopping stopper(monitor, o.patience, o.min_delta);
  Generator gen(dropout_seed(o.seed));

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
  rc.training.ckpt_dir = dir;
  rc.weights = "last.safetensors";  // until a best epoch exists
  rc.git_sha = source_version();  // the commit this binary was built from
  if (resuming) {
    rc.weights = saved->weights;
    const auto meta = load_weights(dir + "/last.safetensors", *model);
    const int w_epoch = meta.count("epoch") ? std::atoi(meta.at("epoch").c_str()) : -1;
    const int o_epoch = load_optimizer(dir + "/optimizer.safetensors", optimizer, param_names);
    if (w_epoch != state.epoch || o_epoch != state.epoch)
      LOOM_THROW(CheckpointError, dir, ": last.safetensors (epoch ", w_epoch, "), optimizer.safetensors (epoch ", o_epoch,
                 ") and trainer_state.json (epoch ", state.epoch, ") disagree: the run was killed while saving; "
                 "start it again");
    schedule.load_state(state.schedule);
    stopper.load_state(state.early_stopping);
    gen.set_state(state.gen_seed, state.gen_offset);
  }
  // Created only now, so a run that fails on its data or flags leaves no empty folder behind.
  std::filesystem::create_directories(dir);
  write_run_config(dir, rc);

  TrainResult result;
  result.run_dir = dir;
  result.num_parameters = model->num_parameters();
  out << "model: " << mc.summary() << "; " << result.num_parameters << " parameters"
      << (o.freeze_embeddings ? " (embeddings frozen)" : "") << "\n";
  out << "training: AdamW lr " << o.lr << " betas (0.9, 0.999) eps 1e-08 weight_decay " << o.weight_decay
      << "; schedule " << o.lr_schedule << (o.warmup_steps ? " warmup " + std::to_string(o.warmup_steps) : "")
      << "; clip-grad-norm " << o.clip_grad_norm << "; batch " << o.batch_size << ", max-len " << o.max_len << ", "
      << o.epochs << " epochs of " << steps_per_epoch << " steps; seed " << o.seed << "; " << num_threads()
      << " CPU threads\n";
  out << "loss: " << objective.describe() << "; early stopping on " << monitor.name << " (patience " << o.patience
      << ", restore best " << (o.restore_best ? "on" : "off") << ")\n";
  out << "run folder: " << dir << (resuming ? " (resuming after epoch " + std::to_string(state.epoch) + ")" : "")
      << "\n"
      << std::flush;

  MetricsLog log(dir, resuming ? state.epoch : -1);
  Tensor clip_scale = Tensor::full({1}, 1.0, DType::F32, device);
  std::int64_t global_step = state.step;
  int epochs_this_call = 0;
  int epoch = state.epoch;
  while (epoch < o.epochs) {
    ++epoch;
    const auto epoch_start = Clock::now();
    const auto batches = data::epoch_batches(p.train_rows, bopts, static_cast<std::uint64_t>(epoch));
    ProgressBar pbar(bar, epoch, o.epochs, static_cast<std::int64_t>(batches.size()));
    double loss_sum = 0.0, norm_sum = 0.0;
    std::int64_t seen = 0, correct = 0;
    for (std::size_t s = 0; s < batches.size(); ++s) {
      const data::Batch batch = data::collate(p.train_rows, batches[s], o.max_len, p.task, num_labels);
      const double lr = schedule.lr();
      optimizer.config().lr = static_cast<float>(lr);
      Tape tape;
      Tensor logits, loss;
      {
        auto rec = tape.record();
        logits = model->forward(batch.tokens, batch.lengths, layers::Phase::Train, gen);
        loss = objective(logits, batch.targets);
      }
      optimizer.zero_grad();
      tape.backward(loss);
      tape.clear();  // activations freed before the optimizer touches memory
      // Clipping rides along in the AdamW kernel (grad_scale): one pass over the gradients less.
      const double norm = ops::grad_norm(params);
      norm_sum += norm;
      if (o.clip_grad_norm > 0) {
        const float coeff = ops::clip_coefficient(norm, o.clip_grad_norm);
        if (device.is_cpu()) clip_scale.data<float>()[0] = coeff;
        else clip_scale.copy_from(Tensor::full({1}, coeff));
        optimizer.step(clip_scale);
      } else {
        optimizer.step();
      }
      schedule.step();
      ++global_step;
      // The one read-back per step: the loss and the logits for the running accuracy.
      const std::int64_t b = batch.lengths.numel();
      loss_sum += loss.item() * static_cast<double>(b);
      correct += count_correct(logits.to_vector(), batch, p.task, outputs, o.threshold);
      seen += b;
      pbar.update(static_cast<std::int64_t>(s + 1), seen, loss_sum / seen, static_cast<double>(correct) / seen, lr);
    }
    pbar.finish();
    const double train_seconds = seconds_since(epoch_start);
    const double train_loss = loss_sum / std::max<std::int64_t>(seen, 1);
    const double train_acc = static_cast<double>(correct) / std::max<std::int64_t>(seen, 1);
    const double mean_norm = norm_sum / std::max<std::size_t>(batches.size(), 1);

    EvalMetrics val;
    if (!p.val_rows.empty()) {
      const Scores scores = predict_scores(*model, p.val_rows, p.task, num_labels, o.max_len, &objective);
      val = evaluate(scores, p.val_rows, p.task, p.label_names, o.threshold).metrics;
    }
    const double value = monitor.name == "train_loss"       ? train_loss
                         : monitor.name == "train_accuracy" ? train_acc
                                                            : val.get(monitor.name.substr(4));
    const double lr_used = schedule.lr();
    const bool improved = stopper.update(value, epoch);
    const bool reduced = schedule.epoch_end(value);
    const double epoch_seconds = seconds_since(epoch_start);
    const double tweets_per_s = static_cast<double>(seen) / std::max(train_seconds, 1e-9);

    std::vector<std::pair<std::string, double>> shown{{"loss", train_loss},
                                                      {"accuracy", train_acc},
                                                      {"val_loss", val.loss},
                                                      {"val_accuracy", val.accuracy},
                                                      {"val_f1", val.f1},
                                                      {"val_auc", val.auc},
                                                      {"lr", lr_used},
                                                      {"grad_norm", mean_norm},
                                                      {"tweets/s", tweets_per_s}};
    std::string line = epoch_line(epoch, o.epochs, epoch_seconds, shown);
    if (improved) line += " *";  // Keras-style marker: a new best on the monitored metric
    if (reduced) line += " (lr reduced to " + fmt(schedule.lr(), 6) + ")";
    out << line << "\n" << std::flush;

    EpochRow row;
    row.epoch = epoch;
    row.step = global_step;
    row.split = "train";
    row.loss = train_loss;
    row.accuracy = train_acc;
    row.lr = lr_used;
    row.grad_norm = mean_norm;
    row.time_s = train_seconds;
    row.tweets_per_s = tweets_per_s;
    log.write(row);
    if (!p.val_rows.empty()) {
      EpochRow v;
      v.epoch = epoch;
      v.step = global_step;
      v.split = "val";
      v.loss = val.loss;
      v.accuracy = val.accuracy;
      v.precision = val.precision;
      v.recall = val.recall;
      v.f1 = val.f1;
      v.auc = val.auc;
      v.lr = lr_used;
      v.time_s = epoch_seconds - train_seconds;
      log.write(v);
    }
    result.val_history.push_back(val);
    result.train_loss.push_back(train_loss);
    result.train_accuracy.push_back(train_acc);
    result.epoch_seconds.push_back(epoch_seconds);

    // ---- checkpoints: best (if improved), last, optimizer, then the state that names them ----
    const std::map<std::string, std::string> meta{
        {"epoch", std::to_string(epoch)}, {"monitor", monitor.name}, {"value", fmt(value, 8)}};
    if (improved) {
      save_weights(dir + "/best.safetensors", *model, meta);
      if (rc.weights != "best.safetensors" && o.restore_best) {
        rc.weights = "best.safetensors";
        write_run_config(dir, rc);
      }
    }
    save_weights(dir + "/last.safetensors", *model, meta);
    save_optimizer(dir + "/optimizer.safetensors", optimizer, param_names, epoch);
    state.epoch = epoch;
    state.step = global_step;
    state.schedule = schedule.state();
    state.early_stopping = stopper.state();
    state.gen_seed = gen.seed();
    state.gen_offset = gen.offset();
    state.data_seed = o.seed;
    state.stopped_early = stopper.should_stop() && epoch < o.epochs;
    state.finished = state.stopped_early || epoch == o.epochs;
    write_trainer_state(dir, state);

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
  if (result.interrupted) {
    out << "stopped after epoch " << epoch << "; continue with: loom train --resume " << dir << "\n";
    return result;
  }

  // ---- the end: best weights back, test report, plot ----
  if (o.restore_best && stopper.has_best() && stopper.best_epoch() != epoch) {
    load_weights(dir + "/best.safetensors", *model);
    out << "restored the best weights: epoch " << stopper.best_epoch() << ", " << monitor.name << " "
        << fmt(stopper.best()) << "\n";
  }
  rc.weights = o.restore_best && stopper.has_best() ? "best.safetensors" : "last.safetensors";
  write_run_config(dir, rc);
  if (!p.test_rows.empty()) {
    const Scores scores = predict_scores(*model, p.test_rows, p.task, num_labels, o.max_len, &objective);
    Evaluation ev = evaluate(scores, p.test_rows, p.task, p.label_names, o.threshold);
    out << "\ntest: " << p.test_rows.size() << " tweets [" << p.test_source << "], loss " << fmt(ev.metrics.loss)
        << "\n"
        << ev.text();
    io::write_file_atomic(dir + "/report_test.txt", ev.text());
    write_json_file(dir + "/report_test.json", ev.json());
    EpochRow t;
    t.epoch = epoch;
    t.step = global_step;
    t.split = "test";
    t.loss = ev.metrics.loss;
    t.accuracy = ev.metrics.accuracy;
    t.precision = ev.metrics.precision;
    t.recall = ev.metrics.recall;
    t.f1 = ev.metrics.f1;
    t.auc = ev.metrics.auc;
    log.write(t);
    result.test = std::move(ev);
    result.test_rows = static_cast<std::int64_t>(p.test_rows.size());
  }
  const PlotResult plot = plot_curves(dir, log.rows());
  if (plot.ascii.empty()) out << "\ntraining curves: " << plot.path << "\n";
  else out << "\ntraining curves (no gnuplot on PATH; also in " << plot.path << "):\n" << plot.ascii;
  out << "model saved in " << dir << " (" << rc.weights << ", " << fmt(seconds_since(run_start), 1)
      << " s in all)\n"
      << std::flush;
  return result;
}

}  // namespace loom::train
