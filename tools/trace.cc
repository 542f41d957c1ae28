// tools/trace.cc: `loom trace --model RUN_DIR (--text "..." | --input FILE --row N)`: what the
// model's LSTM does with one tweet, token by token, and which tokens the decision rests on.
//
// The numbers come from train/trace.h (read it for the math). This file reads the flags, picks
// the tweet, and prints three views:
//   terminal (default, 100 columns): the decision, the two checks against the engine, then per
//     token its attribution as a signed bar and, per LSTM layer and direction, the gates' means,
//     the forget gate's saturation, the range of c and the top-k units by |h|;
//   --jsonl FILE: one object per (token, layer, direction) with the full i, f, g, o, c, h vectors,
//     then one "decision" object (probabilities, attributions);
//   --tape N: the autograd tape of ops::lstm_cell unrolled over the first N tokens (e.g. 3);
//   --png FILE: a heat map of the last layer's h (units x tokens) drawn by gnuplot when it is on
//     PATH; otherwise the same map in ASCII on the terminal and a note (apt-get install gnuplot-nox).
// Architectures: lstm, bilstm and lstm-cnn get everything; cnn-lstm, cnn and bow get the decision
// and the attributions (their first layer is not an LSTM over the tokens); hybrid and meta-mlp
// read account metadata and are refused with a one-line error.
//
// `loom trace --kernels` is the other trace: every kernel call of ONE training step in order (op,
// phase, implementation, device, shapes, dtype, time, GFLOP/s, GB/s, % of roofline) and a per-op
// summary, for one or several --impl side by side, of a run's model (--model) or of a fresh one
// (--arch and the model flags) on a synthetic batch. The numbers: train/trace_kernels.h.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/dataset.h"
#include "io/atomic_file.h"
#include "tools/commands.h"
#include "train/plot.h"
#include "train/runtime.h"
#include "train/text_data.h"
#include "train/trace.h"
#include "train/run_setup.h"
#include "train/trace_kernels.h"

namespace loom::tools {
namespace {

struct TraceOptions {
  std::string model_dir, text, input, jsonl, png;
  std::int64_t row = 0;  // 1-based data row of --input
  int top = 5;
  int tape = 0;  // --tape N: the autograd tape of lstm_cell over the first N tokens (0: none)
  std::string format, encoding, text_col;
  std::string device = "auto", precision;
  int threads = 0;
  // --kernels: the training step's kernels. The model flags fill `model` (as loom train's do).
  bool kernels = false;
  train::TrainOptions model;
  std::int64_t vocab_size = 20000;  // of the synthetic batch's ids (--arch; a run brings its own)
  std::int64_t batch_size = 0, seq_len = 0;  // 0: the run's (--model) or loom train's defaults
  std::string impl = "auto";
  int repeats = 1;
};

std::string fmt(const char* f, double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A value in [-1, 1] as ".51" / "-.51" (two decimals, no leading zero): the gate columns stay narrow.
std::string short_num(double v) {
  std::string s = fmt("%.2f", v);
  if (s.rfind("0.", 0) == 0) s.erase(0, 1);
  else if (s.rfind("-0.", 0) == 0) s.erase(1, 1);
  return s;
}

// share in [-1, 1] as a bar of 2 * width + 1 characters: '-' left of '|' for a push against the
// decision, '+' right of it for a push towards it, length relative to the largest |share|.
std::string signed_bar(double share, double largest, int width) {
  const int n = largest > 0 ? static_cast<int>(std::lround(std::fabs(share) / largest * width)) : 0;
  std::string left(width, ' '), right(width, ' ');
  for (int k = 0; k < n; ++k) (share < 0 ? left[width - 1 - k] : right[k]) = share < 0 ? '-' : '+';
  return left + "|" + right;
}

std::string token_label(const train::TraceResult& r, const data::Vocab& vocab, std::size_t t) {
  const std::string tok = t < r.tokens.size() ? r.tokens[t] : "";
  return r.ids[t] == data::Vocab::kUnk ? "<unk>:" + tok : vocab.token(r.ids[t]);
}

// The tweet: --text, or row N of --input read in the run's format (or the flags' overrides).
std::string pick_text(const TraceOptions& o, const train::RunConfig& rc) {
  if (!o.text.empty() || o.input.empty()) return o.text;
  LOOM_CHECK(o.row >= 1, "--row: a 1-based data row of ", o.input, " is needed with --input (got ", o.row, ")");
  train::TrainOptions t = rc.training;
  if (!o.format.empty()) t.format = o.format;
  if (!o.encoding.empty()) t.encoding = o.encoding;
  if (!o.text_col.empty()) t.text_col = o.text_col;
  t.label_cols.clear();
  t.id_cols.clear();
  t.accounts.clear();
  const data::Dataset d = data::load_dataset(train::dataset_spec(t, o.input, /*labeled=*/false));
  const auto n = static_cast<std::int64_t>(d.examples.size());
  if (o.row > n) LOOM_THROW(DataError, "--row ", o.row, ": ", o.input, " has ", n, " data rows");
  return d.examples[static_cast<std::size_t>(o.row - 1)].text;
}

void write_jsonl(const std::string& path, const train::TraceResult& r, const data::Vocab& vocab) {
  std::ostringstream os;
  for (std::size_t t = 0; t < r.ids.size(); ++t)
    for (const train::LstmTrace& l : r.lstm) {
      nlohmann::ordered_json j = {{"type", "step"}, {"t", t}, {"token", token_label(r, vocab, t)},
                          {"unk", r.ids[t] == data::Vocab::kUnk}, {"layer", l.layer},
                          {"direction", l.direction ? "reverse" : "forward"},
                          {"i", l.i[t]}, {"f", l.f[t]}, {"g", l.g[t]}, {"o", l.o[t]}, {"c", l.c[t]}, {"h", l.h[t]}};
      os << j.dump() << "\n";
    }
  nlohmann::ordered_json probs = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < r.label_names.size(); ++k) probs[r.label_names[k]] = r.probs[k];
  std::vector<std::string> tokens;
  for (std::size_t t = 0; t < r.ids.size(); ++t) tokens.push_back(token_label(r, vocab, t));
  nlohmann::ordered_json last = {{"type", "decision"}, {"arch", r.arch}, {"tokens", tokens}, {"probs", probs},
                         {"predicted", r.label_names[static_cast<std::size_t>(r.predicted)]},
                         {"score", r.score}, {"attribution", r.attribution}, {"share", r.share},
                         {"truncated", r.truncated}};
  if (r.check_layer >= 0) last["check_layer_max_abs"] = r.check_layer;
  if (r.check_features >= 0) last["check_features_max_abs"] = r.check_features;
  if (!r.no_lstm_reason.empty()) last["no_lstm"] = r.no_lstm_reason;
  os << last.dump() << "\n";
  io::write_file_atomic(path, os.str());
}

// The last layer's h as [units][tokens] (bilstm: forward units, then reverse units).
std::vector<std::vector<double>> last_layer_h(const train::TraceResult& r) {
  std::vector<std::vector<double>> m;
  const int D = r.lstm.back().direction + 1;
  for (int d = 0; d < D; ++d) {
    const train::LstmTrace& l = r.lstm[r.lstm.size() - D + d];
    for (std::size_t u = 0; u < l.h[0].size(); ++u) {
      m.emplace_back();
      for (std::size_t t = 0; t < l.h.size(); ++t) m.back().push_back(l.h[t][u]);
    }
  }
  return m;
}

std::string ascii_heatmap(const train::TraceResult& r) {
  const auto m = last_layer_h(r);
  std::ostringstream os;
  os << "h, last layer (rows: units, columns: tokens 1.." << r.ids.size()
     << "): # = - below -.6 -.3 -.1, . + @ above .1 .3 .6\n";
  for (std::size_t u = 0; u < m.size(); ++u) {
    os << fmt("%4.0f ", static_cast<double>(u));
    for (double v : m[u]) {
      const char c = v < -0.6 ? '#' : v < -0.3 ? '=' : v < -0.1 ? '-' : v <= 0.1 ? ' ' : v <= 0.3 ? '.' : v <= 0.6 ? '+' : '@';
      os << c << c;
    }
    os << "\n";
  }
  return os.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// gnuplot's heat map; false when it failed (the caller prints the ASCII map instead).
bool gnuplot_heatmap(const std::string& gnuplot, const std::string& png, const train::TraceResult& r,
                     const data::Vocab& vocab) {
  const auto m = last_layer_h(r);
  const std::string data = png + ".dat", script = png + ".gp";
  std::ofstream dat(data);
  for (const auto& row : m) {
    for (std::size_t t = 0; t < row.size(); ++t) dat << (t ? " " : "") << row[t];
    dat << "\n";
  }
  dat.close();
  std::ofstream gp(script);
  gp << "set terminal pngcairo size " << 300 + 40 * r.ids.size() << "," << 200 + 6 * m.size() << " noenhanced\n"
     << "set output " << quote(png) << "\nset title 'h of the last LSTM layer (" << r.arch << ")'\n"
     << "set ylabel 'unit'\nset cbrange [-1:1]\nset palette defined (-1 'blue', 0 'white', 1 'red')\n"
     << "set xtics rotate by 45 right (";
  for (std::size_t t = 0; t < r.ids.size(); ++t) {
    std::string tok = token_label(r, vocab, t);
    for (char& c : tok)
      if (c == '"' || c == '\\') c = '_';
    gp << (t ? ", " : "") << "\"" << tok << "\" " << t;
  }
  gp << ")\nplot " << quote(data) << " matrix with image notitle\n";
  gp.close();
  const std::string cmd = quote(gnuplot) + " " + quote(script) + " >/dev/null 2>&1";
  const bool ok = std::system(cmd.c_str()) == 0 && std::ifstream(png).good();
  std::remove(data.c_str());
  std::remove(script.c_str());
  return ok;
}

// `head` then the items, wrapped at 100 columns (continuation lines indented by 2).
void print_wrapped(std::ostream& out, std::string line, const std::vector<std::string>& items) {
  for (const std::string& item : items) {
    if (line.size() + 1 + item.size() > 100 && line.size() > 2) out << line << "\n", line = " ";
    line += " " + item;
  }
  out << line << "\n";
}

void print_terminal(const train::TraceResult& r, const train::RunConfig& rc, const TraceOptions& o, std::ostream& out) {
  std::vector<std::string> items;
  for (std::size_t t = 0; t < r.ids.size(); ++t) {
    std::string tok = token_label(r, rc.vocab, t);
    if (tok.size() > 40) tok = tok.substr(0, 39) + "~";  // a long URL would not fit a line
    items.push_back(tok);
  }
  print_wrapped(out, "tokens (" + std::to_string(r.ids.size()) + ", max_len " + std::to_string(rc.max_len) + "):", items);
  if (r.truncated) out << "(" << r.truncated << " tokens past max_len " << rc.max_len << " are not read)\n";
  items.clear();
  for (std::size_t k = 0; k < r.probs.size(); ++k) items.push_back("p(" + r.label_names[k] + ") " + fmt("%.4f", r.probs[k]));
  print_wrapped(out, "decision: " + r.label_names[static_cast<std::size_t>(r.predicted)] + " ", items);
  if (r.check_layer >= 0) {
    out << "check: max |h - engine's LSTM layer (F64)| " << fmt("%.1e", r.check_layer);
    if (r.check_features >= 0) out << "; |h_n - model's features| " << fmt("%.1e", r.check_features);
    out << "\n";
  }
  out << "attribution: gradient x input on the embedding of score s = " << fmt("%+.4f", r.score)
      << " (logit of the decision),\n  share = a_t / sum |a|: '+' pushes towards the decision, '-' against it\n";
  if (!r.no_lstm_reason.empty()) out << "no gate trace (" << r.no_lstm_reason << "): the decision and attributions only\n";
  else
    out << "per layer/direction: mean i f g o; f-sat: share of f > .95 or < .05; range of c;\n  top "
        << o.top << " units by |h| (unit:h)\n";
  double largest = 0;
  for (double s : r.share) largest = std::max(largest, std::fabs(s));
  for (std::size_t t = 0; t < r.ids.size(); ++t) {
    std::string tok = token_label(r, rc.vocab, t);
    if (tok.size() > 22) tok = tok.substr(0, 21) + "~";
    char line[160];
    std::snprintf(line, sizeof line, "%3zu %-22s %+7.3f %s\n", t + 1, tok.c_str(), r.share[t],
                  signed_bar(r.share[t], largest, 15).c_str());
    out << line;
    for (const train::LstmTrace& l : r.lstm) {
      std::string s = "    L" + std::to_string(l.layer) + (l.direction ? " rev" : " fwd");
      const train::VecStats i = train::vec_stats(l.i[t], false), f = train::vec_stats(l.f[t], false);
      const train::VecStats g = train::vec_stats(l.g[t], true), ob = train::vec_stats(l.o[t], false);
      const train::VecStats c = train::vec_stats(l.c[t], true);
      s += " i" + short_num(i.mean) + " f" + short_num(f.mean) + " g" + short_num(g.mean) + " o" + short_num(ob.mean);
      s += " f-sat" + fmt("%3.0f%%", 100 * f.saturated) + " c" + fmt("%+.2f", c.min) + ".." + fmt("%+.2f", c.max);
      s += " top";
      for (int u : train::top_units(l.h[t], o.top)) {
        const std::string item = " " + std::to_string(u) + ":" + short_num(l.h[t][static_cast<std::size_t>(u)]);
        if (s.size() + item.size() > 100) break;  // the 100-column promise wins over a long --top
        s += item;
      }
      out << s << "\n";
    }
  }
}

// --kernels: one profiled training step per --impl (train/trace_kernels.h), printed and written.
int run_kernel_trace(const TraceOptions& o, std::ostream& out, std::ostream& err) {
  LOOM_CHECK(o.text.empty() && o.input.empty() && o.tape == 0 && o.png.empty(),
             "loom trace --kernels traces a training step: --text, --input, --tape and --png belong to the tweet "
             "trace (without --kernels)");
  train::KernelTraceConfig c;
  c.impls = train::parse_impl_list(o.impl);
  c.device = train::resolve_device(o.device, err);
  std::string precision = o.precision.empty() ? "fp32" : o.precision;
  std::string what;
  if (!o.model_dir.empty()) {
    const train::LoadedRun run = train::load_run(o.model_dir, Device::cpu());  // checks the folder and weights
    const train::RunConfig& rc = run.config;
    c.model = rc.model;
    c.weights_path = run.weights_path;
    c.task = rc.task;
    c.num_labels = static_cast<std::int64_t>(rc.label_names.size());
    c.batch = o.batch_size > 0 ? o.batch_size : rc.training.batch_size;
    c.seq_len = o.seq_len > 0 ? o.seq_len : rc.max_len;
    c.lr = rc.training.lr;
    c.weight_decay = rc.training.weight_decay;
    c.clip_grad_norm = rc.training.clip_grad_norm;
    if (o.precision.empty()) precision = rc.training.precision;
    what = "run " + o.model_dir + " (" + run.weights_path + ")";
  } else {
    LOOM_CHECK(o.vocab_size >= 3, "--vocab-size must be >= 3 (<pad>, <unk> and one token), got ", o.vocab_size);
    c.model = train::model_config(o.model, o.vocab_size, /*outputs=*/1, Impl::Auto, /*meta_features=*/0);
    c.batch = o.batch_size > 0 ? o.batch_size : o.model.batch_size;
    c.seq_len = o.seq_len > 0 ? o.seq_len : o.model.max_len;
    c.seed = o.model.seed;
    c.lr = o.model.lr;
    c.weight_decay = o.model.weight_decay;
    c.clip_grad_norm = o.model.clip_grad_norm;
    what = "a fresh model (seed " + std::to_string(c.seed) + ")";
  }
  c.precision = train::check_precision(precision);
  c.repeats = o.repeats;
  out << "loom trace --kernels: one training step of " << what << "\n  " << c.model.summary() << "\n  batch "
      << c.batch << " x " << c.seq_len << " synthetic tokens (every row full length), device " << c.device.str()
      << ", precision " << precision << ", warm-up step first (untimed)"
      << (c.repeats > 1 ? ", then " + std::to_string(c.repeats) + " steps: each time is the median" : std::string())
      << "\n";
  const std::vector<train::KernelTrace> traces = train::trace_training_step(c);
  const train::RooflineModel roof = train::roofline_for(c.device);
  train::print_kernel_trace(traces, roof, out);
  if (!o.jsonl.empty()) {
    train::write_kernel_trace_jsonl(o.jsonl, traces, roof);
    std::size_t n = 0;
    for (const train::KernelTrace& t : traces) n += t.calls.size();
    out << "wrote " << o.jsonl << " (" << n << " kernel objects + " << traces.size() << " step objects)\n";
  }
  return 0;
}

int run_trace(const TraceOptions& o, std::ostream& out, std::ostream& err) {
  train::apply_threads(o.threads);
  if (o.kernels) return run_kernel_trace(o, out, err);
  LOOM_CHECK(!o.model_dir.empty(), "loom trace: --model RUN_DIR is required (or --kernels for a training step's kernels)");
  LOOM_CHECK(o.text.empty() != o.input.empty(), "loom trace: give the tweet with --text or with --input FILE --row N");
  LOOM_CHECK(o.top >= 1, "--top must be >= 1, got ", o.top);
  const Device device = train::resolve_device(o.device, err);
  const train::LoadedRun run = train::load_run(o.model_dir, device);
  const train::RunConfig& rc = run.config;
  const ops::Precision precision = train::check_precision(o.precision.empty() ? rc.training.precision : o.precision);
  train::TraceResult r;
  train::tokenize_for_trace(rc, pick_text(o, rc), r);
  train::trace_tokens(run, precision, r);
  out << "loom trace: " << r.arch << " run " << o.model_dir << " (" << run.weights_path << ")\n";
  print_terminal(r, rc, o, out);
  if (o.tape > 0) train::dump_lstm_tape(run, r, o.tape, out);
  if (!o.jsonl.empty()) {
    write_jsonl(o.jsonl, r, rc.vocab);
    out << "wrote " << o.jsonl << " (" << r.ids.size() * r.lstm.size() << " step objects + 1 decision)\n";
  }
  if (!o.png.empty()) {
    if (r.lstm.empty()) {
      out << "--png: no heat map (" << r.no_lstm_reason << ")\n";
    } else {
      const std::string gnuplot = train::find_on_path("gnuplot");
      if (!gnuplot.empty() && gnuplot_heatmap(gnuplot, o.png, r, rc.vocab)) {
        out << "wrote " << o.png << "\n";
      } else {
        out << (gnuplot.empty() ? "gnuplot was not found on PATH (Debian: apt-get install gnuplot-nox)"
                                : "gnuplot failed")
            << ";\n" << o.png << " not written; the heat map in ASCII:\n"
            << ascii_heatmap(r);
      }
    }
  }
  return 0;
}

}  // namespace

CommandRunner add_trace_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto o = std::make_shared<TraceOptions>();
  CLI::App* cmd = app.add_subcommand(
      "trace", "Show an LSTM's gates and states and each token's share of the decision; with --kernels, every "
               "kernel of one training step");
  cmd->option_defaults()->always_capture_default(true);
  CLI::Option* model = cmd->add_option("--model", o->model_dir, "Run folder written by loom train");
  CLI::Option* text = cmd->add_option("--text", o->text, "The tweet to trace");
  CLI::Option* input = cmd->add_option("--input", o->input, "A file of tweets in the run's format (with --row)");
  CLI::Option* row = cmd->add_option("--row", o->row, "1-based data row of --input (the header is not a row)");
  text->excludes(input)->excludes(row);
  input->needs(row);
  row->needs(input);
  cmd->add_option("--top", o->top, "Units listed per token, layer and direction (largest |h|)");
  cmd->add_option("--jsonl", o->jsonl, "Write the full gate and state vectors as JSON lines");
  cmd->add_option("--png", o->png, "Heat map of the last layer's h (gnuplot; ASCII without it)");
  cmd->add_option("--tape", o->tape, "Print the autograd tape of lstm_cell unrolled over the first N tokens (e.g. 3)");
  const std::string G = "Input (default: as in training)";
  cmd->add_option("--format", o->format, "csv, sentiment140 or fasttext")->group(G);
  cmd->add_option("--encoding", o->encoding, "utf-8 or latin1")->group(G);
  cmd->add_option("--text-col", o->text_col, "Column holding the tweet")->group(G);
  cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N");
  cmd->add_option("--precision", o->precision, "Of the probabilities: fp32, bf16 or fp16 (default: the training one)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd->add_option("--threads", o->threads, "CPU threads (0 = all cores)");

  const std::string K = "Kernels of a training step (--kernels)";
  CLI::Option* kernels =
      cmd->add_flag("--kernels", o->kernels, "Profile one training step: every kernel call in order, then per op")
          ->group(K);
  train::TrainOptions& m = o->model;
  // The model's shape comes from the run with --model, from these flags without it.
  const std::vector<CLI::Option*> shape_flags{
      cmd->add_option("--arch", m.arch, "Without --model: the architecture to build")
          ->check(CLI::IsMember({"bow", "cnn", "lstm", "bilstm", "cnn-lstm", "lstm-cnn"}))->group(K),
      cmd->add_option("--preset", m.preset, "Without --model: a familiar baseline (bilstm-imdb, cnn-kim)")->group(K),
      cmd->add_option("--embed-dim", m.embed_dim, "Embedding width")->group(K),
      cmd->add_option("--hidden", m.hidden, "LSTM hidden size per direction")->group(K),
      cmd->add_option("--layers", m.layers, "Stacked LSTM layers")->group(K),
      cmd->add_option("--dropout", m.dropout, "Dropout (as in training: the step runs in train mode)")->group(K),
      cmd->add_option("--filters", m.filters, "Convolution filters per width")->group(K),
      cmd->add_option("--widths", m.widths, "Convolution widths, comma-separated")->delimiter(',')->group(K),
      cmd->add_option("--vocab-size", o->vocab_size, "Without --model: vocabulary size of the synthetic ids")->group(K),
      cmd->add_option("--seed", m.seed, "Without --model: the initialisation and the synthetic batch's seed")
          ->group(K),
  };
  for (CLI::Option* opt : shape_flags) opt->needs(kernels)->excludes(model);
  const std::vector<CLI::Option*> step_flags{
      cmd->add_option("--batch-size", o->batch_size, "Rows of the synthetic batch (0: the run's, else 64)")->group(K),
      cmd->add_option("--seq-len", o->seq_len, "Tokens per row (0: the run's max-len, else 64)")->group(K),
      cmd->add_option("--repeats", o->repeats, "Profiled steps per impl; each call's time is the median")->group(K),
      cmd->add_option("--impl", o->impl,
                      "Comma-separated: auto, cpu, reference (CPU); cuda-v1, cuda-v2, cudnn, cudnn-persist (CUDA); "
                      "one step each, side by side")
          ->group(K),
  };
  for (CLI::Option* opt : step_flags) opt->needs(kernels);
  cmd->footer(
      "Examples:\n"
      "  loom trace --model runs/lstm-20250101-120000 --text \"i don't hate it\" --tape 3\n"
      "  loom trace --kernels --arch lstm --hidden 128 --impl cpu,reference --device cpu\n"
      "  loom trace --kernels --model runs/bilstm-20250101-120000 --impl cuda-v1,cuda-v2,cudnn --jsonl k.jsonl");
  return [o, &out, &err]() { return run_trace(*o, out, err); };
}

}  // namespace loom::tools
