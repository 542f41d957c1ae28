// tools/predict.cc: `loom predict --model DIR --input FILE [--output FILE.csv]`.
//
// Reads unlabeled tweets (a label column, if present, is ignored) and writes one CSV row per input
// row, in input order: the id columns, prob_<label> for every label (binary: both classes, so the
// columns read the same for every task), then the decision: `label` (binary, multi-class) or
// `labels` (multi-label: the labels at or above the threshold, joined with ';').
//
// Per tweet, the file is streamed: data::DatasetReader hands out --chunk-rows rows at a time (8192),
// each chunk is scored (Scorer: rows in, probabilities out) and its rows written before the next
// is read, so memory stays bounded for a file of any length (docs/reliability-large-inputs.md). A
// run with a user model reads the whole file: a user's tweets may be anywhere in it.
//
// Several --model folders (or one ensemble folder, train/ensemble.h) predict with the mean of the
// members' probabilities; each member encodes the text with its own tokenizer and vocabulary.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "train/checkpoint.h"
#include "train/ensemble.h"
#include "train/evaluate.h"
#include "train/runtime.h"
#include "train/text_data.h"
#include "train/user_level.h"
#include "data/groups.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "tools/commands.h"

namespace loom::tools {
namespace {

// The header of a CSV file, for choosing default id columns before loading it (column names hold
// no line breaks, so the first line is the header; quotes and a BOM are handled).
std::vector<std::string> csv_header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string line;
  if (!f || !std::getline(f, line)) return {};
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> names(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') names.back() += '"', ++i;
      else quoted = !quoted;
    } else if (c == ',' && !quoted) {
      names.emplace_back();
    } else {
      names.back() += c;
    }
  }
  return names;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One row per user: the group key, the tweets the user model read, prob_<label> of both labels
// and the decision (binary runs: user models score P(label_names[1])).
int predict_users(const PredictOptions& o, const train::RunConfig& rc, const train::UserModel& user,
                  const data::Dataset& d, const std::vector<data::EncodedExample>& rows, ops::Precision precision,
                  std::ostream& out, std::ostream& log) {
  const data::Groups groups = data::make_groups(d, data::example_keys(d, user.group_col));
  std::vector<std::int64_t> ids(groups.keys.size());
  for (std::size_t g = 0; g < ids.size(); ++g) ids[g] = static_cast<std::int64_t>(g);
  const std::vector<data::UserSet> sets = data::user_sets(groups, ids, user.tweets_per_user, user.order, rc.training.seed);
  const std::vector<double> probs = user.score(rows, sets, rc.max_len, precision);
  const double threshold = o.threshold >= 0 ? o.threshold : rc.threshold;
  std::ostringstream csv;
  csv << csv_field(user.group_col) << ",tweets";
  for (const std::string& name : rc.label_names) csv << "," << csv_field("prob_" + name);
  csv << ",label\n";
  char buf[32];
  for (std::size_t i = 0; i < sets.size(); ++i) {
    csv << csv_field(groups.keys[static_cast<std::size_t>(sets[i].group)]) << "," << sets[i].rows.size();
    std::snprintf(buf, sizeof buf, ",%.6f,%.6f", 1.0 - probs[i], probs[i]);
    csv << buf << "," << csv_field(rc.label_names[probs[i] >= threshold ? 1 : 0]) << "\n";
  }
  if (o.output.empty()) {
    out << csv.str() << std::flush;
  } else {
    io::write_file_atomic(o.output, csv.str());
    log << "predict: " << sets.size() << " users (" << d.examples.size() << " tweets) of " << o.input << " -> "
        << o.output << " (" << train::user_model_name(user.kind()) << " user model)\n";
  }
  return 0;
}

// Scores rows with one loaded run: rows in, probabilities out. Everything model-specific of
// `loom predict`'s per-tweet path goes through here, so another scorer (an ensemble averaging
// several runs) can take its place without touching the reading and writing around it.
struct Scorer {
  const train::LoadedRun& run;
  const train::TrainOptions& input;  // how the rows were read (metadata join, columns)
  const train::RunConfig& config;
  std::string path;                  // the input file, for log lines
  ops::Precision precision;
  std::int64_t batch_size;

  train::Scores operator()(data::Dataset& rows, std::ostream& log) const {
    const auto encoded = train::encode_for_inference(rows, input, path, config.tokenizer, config.vocab,
                                                     config.metadata, log);
    return train::predict_scores(*run.model, encoded, config.task, static_cast<std::int64_t>(config.label_names.size()),
                                 config.max_len, nullptr, batch_size, precision);
  }
};

// The output's header: the id columns, the text (--with-text), prob_<label> per label, the decision.
std::string header_row(const PredictOptions& o, const train::RunConfig& rc, const std::vector<std::string>& id_names) {
  std::string row;
  for (const std::string& id : id_names) row += csv_field(id) + ",";
  if (o.with_text) row += "text,";
  for (const std::string& name : rc.label_names) row += csv_field("prob_" + name) + ",";
  row += rc.task == data::TaskKind::MultiLabel ? "labels\n" : "label\n";
  return row;
}

// One output row per row of `d`, scored in `s`, appended to `csv`.
void append_rows(const PredictOptions& o, const train::RunConfig& rc, const data::Dataset& d, const train::Scores& s,
                 std::string& csv) {
  const auto k = static_cast<std::int64_t>(rc.label_names.size());
  const double threshold = o.threshold >= 0 ? o.threshold : rc.threshold;
  const std::vector<int> decided = train::decide(s, rc.task, threshold);
  char buf[32];
  for (std::int64_t i = 0; i < s.n; ++i) {
    const data::Example& ex = d.examples[static_cast<std::size_t>(i)];
    for (const std::string& id : ex.ids) csv += csv_field(id) + ",";
    if (o.with_text) csv += csv_field(ex.text) + ",";
    for (std::int64_t j = 0; j < k; ++j) {
      const double p = rc.task == data::TaskKind::Binary ? (j == 1 ? s.probs[i] : 1.0 - s.probs[i])
                                                         : s.probs[i * s.k + j];
      std::snprintf(buf, sizeof buf, "%.6f,", p);
      csv += buf;
    }
    if (rc.task == data::TaskKind::MultiLabel) {
      std::string labels;
      for (std::int64_t j = 0; j < k; ++j)
        if (decided[i * k + j]) labels += (labels.empty() ? "" : ";") + rc.label_names[j];
      csv += csv_field(labels) + "\n";
    } else {
      csv += csv_field(rc.label_names[decided[i]]) + "\n";
    }
  }
}

// Where predictions go, a chunk at a time: `out` (stdout), or --output written as
// io::write_file_atomic does (a temporary in the same folder, fsynced, renamed over the path at
// commit()), so a failed or killed run never leaves a half-written predictions file behind.
class PredictionSink {
 public:
  PredictionSink(const std::string& path, std::ostream& out) : path_(path), out_(out) {
    if (path_.empty()) return;
    temp_ = io::atomic_temp_path(path_);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) LOOM_THROW(Error, path_, ": cannot create the temporary file ", temp_, ": ", std::strerror(errno));
  }
  ~PredictionSink() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty() && !committed_) ::unlink(temp_.c_str());
  }
  PredictionSink(const PredictionSink&) = delete;
  PredictionSink& operator=(const PredictionSink&) = delete;

  void write(const std::string& bytes) {
    if (fd_ < 0) {
      out_ << bytes;
      return;
    }
    for (std::size_t from = 0; from < bytes.size();) {
      const ssize_t n = ::write(fd_, bytes.data() + from, bytes.size() - from);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) LOOM_THROW(Error, path_, ": writing ", bytes.size(), " bytes failed: ", std::strerror(errno));
      from += static_cast<std::size_t>(n);
    }
  }

  void commit() {
    if (fd_ < 0) {
      out_ << std::flush;
      return;
    }
    if (::fsync(fd_) != 0) LOOM_THROW(Error, path_, ": fsync failed: ", std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) LOOM_THROW(Error, path_, ": closing the temporary file failed: ", std::strerror(errno));
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      LOOM_THROW(Error, path_, ": cannot rename ", temp_, " over it: ", std::strerror(errno));
    committed_ = true;
  }

 private:
  std::string path_, temp_;
  std::ostream& out_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

// The reader's own inverse (data/csv.h), so a field starting with a byte-order mark is quoted too.
std::string csv_field(const std::string& s) { return data::quote_csv_field(s); }

void add_predict_options(CLI::App& app, PredictOptions& o) {
  app.option_defaults()->always_capture_default(true);
  add_model_option(app, o.model_dir, o.more_models);
  app.add_option("--input", o.input, "Tweets to classify (CSV with a text column; labels not needed)")->required();
  app.add_option("--output", o.output, "Predictions CSV (default: stdout)");
  app.add_option("--id-col", o.id_cols, "Column(s) copied to the output (default: the training --id-col, else 'id' if present)")
      ->delimiter(',');
  app.add_flag("--with-text", o.with_text, "Also copy the tweet text to the output");
  app.add_flag("--per-tweet", o.per_tweet, "A run with a user model: one row per tweet instead of one per user");
  const std::string G = "Input (default: as in training)";
  app.add_option("--format", o.format, "csv, sentiment140 or fasttext")->group(G);
  app.add_option("--encoding", o.encoding, "utf-8 or latin1")->group(G);
  app.add_option("--text-col", o.text_col, "Column holding the tweet")->group(G);
  app.add_option("--on-bad-row", o.on_bad_row, "fail or skip")->group(G);
  app.add_option("--threshold", o.threshold, "Decision threshold (default: the model's)")->group(G);
  app.add_option("--accounts", o.accounts, "Metadata runs: the accounts CSV (default: the training one)")->group(G);
  app.add_option("--join", o.join, "Metadata runs: the key column of --input and --accounts")->group(G);
  app.add_option("--missing-account", o.missing_account, "A tweet whose account is absent: fail, skip or keep")
      ->check(CLI::IsMember({"fail", "skip", "keep"}))->group(G);
  app.add_option("--batch-size", o.batch_size, "Tweets per forward pass");
  app.add_option("--chunk-rows", o.chunk_rows, "Rows read, scored and written at a time (memory stays bounded by it)");
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--impl", o.impl, "auto, cpu, cuda or cudnn")->check(CLI::IsMember({"auto", "cpu", "cuda", "cudnn"}));
  app.add_option("--precision", o.precision, "fp32, bf16 or fp16 (default: the precision the model was trained in)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  app.add_option("--threads", o.threads, "CPU threads (0 = all cores)");
}

namespace {

// The columns and format the input is read with: the run's own, with this command's overrides.
train::TrainOptions input_options(const PredictOptions& o, const train::TrainOptions& trained) {
  train::TrainOptions t = trained;
  if (!o.format.empty()) t.format = o.format;
  if (!o.encoding.empty()) t.encoding = o.encoding;
  if (!o.text_col.empty()) t.text_col = o.text_col;
  if (!o.on_bad_row.empty()) t.on_bad_row = o.on_bad_row;
  t.label_cols.clear();
  if (!o.id_cols.empty()) {
    t.id_cols = o.id_cols;
  } else if (t.format == "csv") {
    // The training ids when this file has them all; else a plain "id" column when there is one.
    const std::vector<std::string> header = csv_header(o.input);
    bool all = !t.id_cols.empty();
    for (const std::string& c : t.id_cols) all = all && contains(header, c);
    if (!all) t.id_cols = contains(header, "id") ? std::vector<std::string>{"id"} : std::vector<std::string>{};
  }
  if (!o.accounts.empty()) t.accounts = o.accounts;
  if (!o.join.empty()) t.join_col = o.join;
  if (!o.missing_account.empty()) t.missing_account = o.missing_account;
  return t;
}

// One tweet per row: read, score and write a chunk of rows at a time, so memory stays bounded
// whatever the file's length. `score` is the only model-specific step (one run, or an ensemble).
using ScoreChunk = std::function<train::Scores(data::Dataset&, std::ostream&)>;
int stream_predictions(const PredictOptions& o, const train::RunConfig& rc, const data::DatasetSpec& spec,
                       const ScoreChunk& score, std::size_t chunk_rows, const std::string& model_name,
                       std::ostream& out, std::ostream& log) {
  data::DatasetReader reader(spec);
  PredictionSink sink(o.output, out);
  data::Dataset chunk;
  std::int64_t n = 0;
  std::string text;
  while (reader.next(chunk_rows, chunk)) {
    text.clear();
    if (n == 0) text = header_row(o, rc, reader.id_names());
    const train::Scores s = score(chunk, log);
    append_rows(o, rc, chunk, s, text);
    sink.write(text);
    n += s.n;
  }
  if (reader.skipped().count) log << "skipped " << reader.skipped().count << " bad rows of " << o.input << "\n";
  sink.commit();
  if (!o.output.empty()) log << "predict: " << n << " tweets of " << o.input << " -> " << o.output << " (" << model_name << ")\n";
  return 0;
}

// Several runs (--model A --model B, or an ensemble folder): the mean of their probabilities. The
// first member's columns read the file; each member encodes the text with its own pipeline.
int predict_ensemble(const PredictOptions& o, const std::vector<std::string>& dirs, Device device, Impl impl,
                     std::ostream& out, std::ostream& log) {
  const train::Ensemble ens(dirs, device, impl);
  train::RunConfig rc = ens.primary();
  rc.threshold = ens.threshold();  // the ensemble folder's decision threshold (append_rows reads rc's)
  if (!o.precision.empty()) train::note_precision(train::check_precision(o.precision), device, log);
  train::TrainOptions t = input_options(o, rc.training);
  t.group_col = "";
  t.id_cols = train::load_id_cols(t);
  const data::DatasetSpec spec = train::dataset_spec(t, o.input, /*labeled=*/false);
  log << "ensemble: " << ens.size() << " members, mean of their probabilities\n";
  const ScoreChunk score = [&](data::Dataset& rows, std::ostream&) {
    return ens.probabilities(rows, o.batch_size, o.precision);
  };
  return stream_predictions(o, rc, spec, score, static_cast<std::size_t>(o.chunk_rows),
                            std::to_string(ens.size()) + "-member ensemble", out, log);
}

}  // namespace

int run_predict(const PredictOptions& o, std::ostream& out, std::ostream& log) {
  train::apply_threads(o.threads);
  LOOM_CHECK(o.batch_size >= 1, "--batch-size must be >= 1, got ", o.batch_size);
  LOOM_CHECK(o.chunk_rows >= 1, "--chunk-rows must be >= 1, got ", o.chunk_rows);
  const Device device = train::resolve_device(o.device, log);
  const Impl impl = train::resolve_impl(o.impl, false, device);
  const std::vector<std::string> members = ensemble_members(o.model_dir, o.more_models);
  if (!members.empty()) return predict_ensemble(o, members, device, impl, out, log);
  train::LoadedRun run = train::load_run(o.model_dir, device, impl);
  const train::RunConfig& rc = run.config;
  const ops::Precision precision = train::check_precision(o.precision.empty() ? rc.training.precision : o.precision);
  train::note_precision(precision, device, log);
  train::TrainOptions t = input_options(o, rc.training);
  // A run with a user model writes one row per user (unless --per-tweet): the group column is loaded.
  std::unique_ptr<train::UserModel> user = train::load_user_model(o.model_dir, *run.model, device);
  if (o.per_tweet) user.reset();
  t.group_col = user ? user->group_col : "";
  if (user && t.format == "csv" && !contains(csv_header(o.input), user->group_col))
    LOOM_THROW(DataError, o.input, ":1: no column '", user->group_col, "': the run's ",
               train::user_model_name(user->kind()), " user model groups tweets by it (add the column, or pass "
               "--per-tweet for one row per tweet)");
  t.id_cols = train::load_id_cols(t);  // + the join key (metadata) and the group column (users)
  const data::DatasetSpec spec = train::dataset_spec(t, o.input, /*labeled=*/false);
  if (user) {
    // A user model scores each user from tweets anywhere in the file: the whole file is loaded.
    data::Dataset d = data::load_dataset(spec);
    if (d.skipped.count) log << "skipped " << d.skipped.count << " bad rows of " << o.input << "\n";
    const auto rows = train::encode_for_inference(d, t, o.input, rc.tokenizer, rc.vocab, rc.metadata, log);
    return predict_users(o, rc, *user, d, rows, precision, out, log);
  }
  // A metadata run is read as one chunk: its join reads the accounts file and reports on it once
  // per call (the accounts file is loaded whole anyway).
  const Scorer scorer{run, t, rc, o.input, precision, o.batch_size};
  const std::size_t chunk_rows = rc.metadata.size() > 0 ? std::numeric_limits<std::size_t>::max()
                                                        : static_cast<std::size_t>(o.chunk_rows);
  return stream_predictions(o, rc, spec, scorer, chunk_rows, run.weights_path, out, log);
}

}  // namespace loom::tools
