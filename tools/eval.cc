// tools/eval.cc: `loom eval --model DIR --input FILE [--output FILE.json]`: the report (sklearn's
// classification_report layout) and the confusion matrix of a trained model on a labeled file.
// Columns, format and threshold default to those the model was trained with (its config.json).
// Ensembles (issue 17): `--model A --model B ...`, or one ensemble folder (ensemble.json), scores
// the mean of the members' probabilities (train/ensemble.h) and also prints each member's numbers.
#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "train/checkpoint.h"
#include "train/ensemble.h"
#include "train/evaluate.h"
#include "train/runtime.h"
#include "train/text_data.h"
#include "train/user_level.h"
#include "tools/commands.h"

namespace loom::tools {

void add_eval_options(CLI::App& app, EvalOptions& o) {
  app.option_defaults()->always_capture_default(true);
  // --model may be repeated: the runs are averaged as an ensemble (as is one ensemble folder).
  add_model_option(app, o.model_dir, o.more_models);
  app.add_option("--input", o.input, "Labeled data with the columns the model was trained on")->required();
  app.add_option("--output", o.output, "Also write the report and confusion matrix as JSON here");
  const std::string G = "Input (default: as in training)";
  app.add_option("--format", o.format, "csv, sentiment140 or fasttext")->group(G);
  app.add_option("--encoding", o.encoding, "utf-8 or latin1")->group(G);
  app.add_option("--text-col", o.text_col, "Column holding the tweet")->group(G);
  app.add_option("--label-col", o.label_col, "Column holding the label")->group(G);
  app.add_option("--label-cols", o.label_cols, "Multi-label: comma-separated 0/1 columns")->group(G);
  app.add_option("--on-bad-row", o.on_bad_row, "fail or skip")->group(G);
  app.add_option("--threshold", o.threshold, "Decision threshold (default: the model's)")->group(G);
  app.add_option("--accounts", o.accounts, "Metadata runs: the accounts CSV (default: the training one)")->group(G);
  app.add_option("--join", o.join, "Metadata runs: the key column of --input and --accounts")->group(G);
  app.add_option("--missing-account", o.missing_account, "A tweet whose account is absent: fail, skip or keep")
      ->check(CLI::IsMember({"fail", "skip", "keep"}))->group(G);
  app.add_option("--batch-size", o.batch_size, "Tweets per forward pass");
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N");
  app.add_option("--impl", o.impl, "auto, cpu, cuda or cudnn")->check(CLI::IsMember({"auto", "cpu", "cuda", "cudnn"}));
  app.add_option("--precision", o.precision, "fp32, bf16 or fp16 (default: the precision the model was trained in)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  app.add_option("--threads", o.threads, "CPU threads (0 = all cores)");
}

namespace {

// The overrides of the eval flags over a run's training options (columns, format, policies).
train::TrainOptions input_options(const EvalOptions& o, const train::TrainOptions& trained) {
  train::TrainOptions t = trained;
  if (!o.format.empty()) t.format = o.format;
  if (!o.encoding.empty()) t.encoding = o.encoding;
  if (!o.text_col.empty()) t.text_col = o.text_col;
  if (!o.label_col.empty()) t.label_col = o.label_col;
  if (!o.label_cols.empty()) {
    t.label_cols.clear();
    std::stringstream ss(o.label_cols);
    for (std::string c; std::getline(ss, c, ',');) t.label_cols.push_back(c);
  }
  if (!o.on_bad_row.empty()) t.on_bad_row = o.on_bad_row;
  if (!o.accounts.empty()) t.accounts = o.accounts;
  if (!o.join.empty()) t.join_col = o.join;
  if (!o.missing_account.empty()) t.missing_account = o.missing_account;
  return t;
}

// Several runs (or an ensemble folder): every member scores the file with its own pipeline, the
// report is that of the mean probabilities; each member's accuracy and loss are printed too, so the
// gain of the ensemble over its members is visible in one command.
int run_eval_ensemble(const EvalOptions& o, const std::vector<std::string>& dirs, std::ostream& out,
                      std::chrono::steady_clock::time_point start) {
  const Device device = train::resolve_device(o.device, out);
  const train::Ensemble ens(dirs, device, train::resolve_impl(o.impl, false, device));
  const train::RunConfig& rc = ens.primary();
  out << "ensemble: " << ens.size() << " members, mean of their probabilities\n";
  train::TrainOptions t = input_options(o, rc.training);  // the first member's columns read the file
  t.group_col = "";
  t.id_cols.clear();
  data::DatasetSpec spec = train::dataset_spec(t, o.input);
  spec.multi_label = rc.task == data::TaskKind::MultiLabel;
  const data::Dataset d = data::load_dataset(spec, &rc.label_names);
  if (d.skipped.count) out << "skipped " << d.skipped.count << " bad rows of " << o.input << "\n";
  const std::vector<train::Scores> members = ens.member_scores(d, o.batch_size, o.precision);
  const double threshold = o.threshold >= 0 ? o.threshold : ens.threshold();
  std::vector<data::EncodedExample> labels(d.examples.size());  // evaluate() reads only the labels
  for (std::size_t i = 0; i < labels.size(); ++i) {
    labels[i].label = d.examples[i].label;
    labels[i].targets = d.examples[i].targets;
  }
  nlohmann::json member_json = nlohmann::json::array();
  for (std::size_t m = 0; m < members.size(); ++m) {
    train::Scores s = members[m];
    s.loss = train::log_loss(s, d.examples, rc.task);
    const train::Evaluation ev = train::evaluate(s, labels, rc.task, rc.label_names, threshold);
    out << "  member " << m + 1 << " " << ens.member_dir(m) << " (" << models::arch_name(ens.config(m).model.arch)
        << "): accuracy " << std::fixed << std::setprecision(4) << ev.metrics.accuracy << ", loss " << ev.metrics.loss
        << std::defaultfloat << "\n";
    member_json.push_back({{"model", ens.member_dir(m)},
                           {"arch", models::arch_name(ens.config(m).model.arch)},
                           {"weights", ens.run(m).weights_path},
                           {"accuracy", ev.metrics.accuracy},
                           {"loss", ev.metrics.loss}});
  }
  train::Scores mean = train::average_scores(members);
  mean.loss = train::log_loss(mean, d.examples, rc.task);
  const train::Evaluation ev = train::evaluate(mean, labels, rc.task, rc.label_names, threshold);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "eval: " << d.examples.size() << " tweets of " << o.input << " with the ensemble of " << ens.size()
      << " (" << data::to_string(rc.task) << ")\n";
  out << "loss " << std::fixed << std::setprecision(4) << ev.metrics.loss << std::defaultfloat << "\n" << ev.text();
  if (!o.output.empty()) {
    nlohmann::json j = ev.json();
    j["model"] = dirs;
    j["combine"] = "mean-probability";
    j["members"] = member_json;
    j["input"] = o.input;
    j["rows"] = d.examples.size();
    j["threshold"] = threshold;
    j["seconds"] = seconds;
    io::write_file_atomic(o.output, j.dump(2) + "\n");
    out << "wrote " << o.output << "\n";
  }
  return 0;
}

}  // namespace

int run_eval(const EvalOptions& o, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  train::apply_threads(o.threads);
  LOOM_CHECK(o.batch_size >= 1, "--batch-size must be >= 1, got ", o.batch_size);
  const std::vector<std::string> members = ensemble_members(o.model_dir, o.more_models);
  if (!members.empty()) return run_eval_ensemble(o, members, out, start);
  const Device device = train::resolve_device(o.device, out);
  train::LoadedRun run = train::load_run(o.model_dir, device, train::resolve_impl(o.impl, false, device));
  const train::RunConfig& rc = run.config;
  const ops::Precision precision = train::check_precision(o.precision.empty() ? rc.training.precision : o.precision);
  out << "precision: " << ops::precision_name(precision) << (o.precision.empty() ? " (as trained)" : "") << "\n";
  train::note_precision(precision, device, out);
  train::TrainOptions t = input_options(o, rc.training);  // the training columns, then the overrides
  // A run with a user model reports users too: the group column must then be loaded.
  const std::unique_ptr<train::UserModel> user = train::load_user_model(o.model_dir, *run.model, device);
  t.group_col = user ? user->group_col : "";
  t.id_cols.clear();  // ids are not needed for a report (the join and group keys are)
  t.id_cols = train::load_id_cols(t);
  data::DatasetSpec spec = train::dataset_spec(t, o.input);
  spec.multi_label = rc.task == data::TaskKind::MultiLabel;
  data::Dataset d = data::load_dataset(spec, &rc.label_names);
  if (d.skipped.count) out << "skipped " << d.skipped.count << " bad rows of " << o.input << "\n";
  const auto rows = train::encode_for_inference(d, t, o.input, rc.tokenizer, rc.vocab, rc.metadata, out);
  const double threshold = o.threshold >= 0 ? o.threshold : rc.threshold;

  const auto k = static_cast<std::int64_t>(rc.label_names.size());
  // The loss here is unweighted: class weights belong to training, not to the measurement.
  const train::Objective objective(rc.task, k, std::vector<std::int64_t>(static_cast<std::size_t>(k), 1), k, "none",
                                   "none", device);
  const train::Scores scores = train::predict_scores(*run.model, rows, rc.task, k, rc.max_len, &objective, o.batch_size,
                                                       precision);
  const train::Evaluation ev = train::evaluate(scores, rows, rc.task, rc.label_names, threshold);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "eval: " << rows.size() << " tweets of " << o.input << " with " << run.weights_path << " ("
      << models::arch_name(rc.model.arch) << ", " << data::to_string(rc.task) << ")\n";
  out << "loss " << std::fixed << std::setprecision(4) << ev.metrics.loss << std::defaultfloat << "\n" << ev.text();
  std::optional<train::Evaluation> user_ev;
  std::int64_t users = 0;
  if (user) {
    const data::Groups groups = data::make_groups(d, data::example_keys(d, user->group_col));
    std::vector<std::int64_t> ids(groups.keys.size());
    for (std::size_t g = 0; g < ids.size(); ++g) ids[g] = static_cast<std::int64_t>(g);
    const std::vector<data::UserSet> sets =
        data::user_sets(groups, ids, user->tweets_per_user, user->order, rc.training.seed);
    train::Scores us;
    us.n = static_cast<std::int64_t>(sets.size());
    us.k = 1;
    us.probs = user->score(rows, sets, rc.max_len, precision);
    std::vector<data::EncodedExample> labels(sets.size());  // one labeled "row" per user
    for (std::size_t i = 0; i < sets.size(); ++i) labels[i].label = sets[i].label;
    user_ev = train::evaluate(us, labels, rc.task, rc.label_names, threshold);
    users = us.n;
    out << "\nuser level (" << train::user_model_name(user->kind()) << ", up to " << user->tweets_per_user
        << " tweets per user): " << users << " users of " << user->group_col << "\n"
        << user_ev->text();
  }
  if (!o.output.empty()) {
    nlohmann::json j = ev.json();
    j["model"] = o.model_dir;
    j["weights"] = run.weights_path;
    j["input"] = o.input;
    j["rows"] = rows.size();
    j["threshold"] = threshold;
    j["seconds"] = seconds;
    if (user_ev) {
      j["user"] = user_ev->json();
      j["user"]["users"] = users;
      j["user"]["user_model"] = train::user_model_name(user->kind());
    }
    io::write_file_atomic(o.output, j.dump(2) + "\n");
    out << "wrote " << o.output << "\n";
  }
  return 0;
}

}  // namespace loom::tools
