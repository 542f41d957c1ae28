// train/bot_run.cc: the bot-detection parts of `loom train` (see bot_run.h).
#include "train/bot_run.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <set>
#include <sstream>

#include "core/error.h"
#include "data/csv.h"
#include "data/groups.h"
#include "io/atomic_file.h"
#include "models/hybrid.h"
#include "models/meta_mlp.h"
#include "models/model_config.h"
#include "train/checkpoint.h"
#include "train/runtime.h"
#include "train/user_level.h"

namespace loom::train {
namespace {

// RFC 4180 quoting (only when needed); tools/ has its own, but train/ may not include tools/.
std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string short_num(double v) {
  std::ostringstream os;
  os << std::setprecision(4) << v;
  return os.str();
}

}  // namespace

TrainOptions resolve_bot_options(const TrainOptions& in) {
  TrainOptions o = in;
  if (!o.accounts.empty() && o.group_col.empty()) o.group_col = o.join_col;
  return o;
}

void check_bot_options(const TrainOptions& o) {
  const models::Arch arch = o.preset.empty() ? models::parse_arch(o.arch) : models::Arch::Lstm;
  const bool meta_arch = arch == models::Arch::Hybrid || arch == models::Arch::MetaMlp;
  if (meta_arch) {
    LOOM_CHECK(!o.meta_cols.empty(), "--arch ", o.arch,
               " reads account metadata: give --meta-cols a,b,c (or all-numeric), with --accounts FILE --join COL "
               "when the columns are in an accounts file");
    const models::Arch text = models::parse_arch(o.text_arch);
    LOOM_CHECK(models::is_text_arch(text), "--text-arch must be a text architecture (bow, cnn, lstm, bilstm, "
               "cnn-lstm, lstm-cnn, fasttext), got '", o.text_arch, "'");
  }
  LOOM_CHECK(o.meta_encoding == "standardize" || o.meta_encoding == "ple",
             "--meta-encoding must be standardize or ple, got '", o.meta_encoding, "'");
  LOOM_CHECK(o.meta_encoding == "standardize" || meta_arch,
             "--meta-encoding ple applies to --arch hybrid and meta-mlp (their account features)");
  LOOM_CHECK(o.meta_bins >= 1 && o.meta_bins <= 1024, "--meta-bins must be in [1, 1024], got ", o.meta_bins);
  LOOM_CHECK(o.text_dropout == 0 || arch == models::Arch::Hybrid, "--text-dropout applies to --arch hybrid (its text "
             "branch), not ", o.arch);
  if (arch == models::Arch::MetaMlp) {
    LOOM_CHECK(o.embeddings.empty(), "--embeddings: --arch meta-mlp has no text branch (no embedding table); "
               "use --arch hybrid to combine pretrained embeddings with metadata");
    LOOM_CHECK(!o.freeze_embeddings, "--freeze-embeddings: --arch meta-mlp has no embedding table to freeze");
  }
  LOOM_CHECK(o.accounts.empty() || !o.meta_cols.empty(),
             "--accounts FILE needs --meta-cols a,b,c (or all-numeric): the account columns to read");
  LOOM_CHECK(o.meta_cols.empty() || o.format == "csv", "--meta-cols needs --format csv, got ", o.format);
  LOOM_CHECK(o.meta_features == "engineered" || o.meta_features == "raw",
             "--meta-features must be engineered or raw, got '", o.meta_features, "'");
  data::parse_missing_account(o.missing_account);
  data::parse_accounts_without_tweets(o.accounts_without_tweets);
  LOOM_CHECK(o.cv == 0 || o.cv >= 2, "--cv K needs K >= 2 folds, got ", o.cv);
  LOOM_CHECK(o.cv == 0 || o.test_path.empty(), "--cv takes its test folds from --input: drop --test");
  LOOM_CHECK(o.cv_fold < 0 || o.cv_fold < o.cv, "cross-validation fold ", o.cv_fold, " of ", o.cv);
  LOOM_CHECK(o.cv == 0 || o.cv_fold >= 0 || o.resume.empty(),
             "--cv with --resume: resume one fold's folder (RUN/fold-F) instead");
  const bool user = !o.user_model.empty();
  if (user) {
    parse_user_model(o.user_model);
    LOOM_CHECK(!o.group_col.empty(), "--user-model ", o.user_model,
               " classifies users: give --group-col COL (the user column of --input), or --accounts with --join");
    LOOM_CHECK(o.user_tweets >= 1, "--user-tweets must be >= 1, got ", o.user_tweets);
    data::parse_tweet_order(o.user_tweet_order);
    LOOM_CHECK(o.knn_k >= 1, "--k must be >= 1, got ", o.knn_k);
    LOOM_CHECK(o.user_filters >= 1, "--user-filters must be >= 1, got ", o.user_filters);
    LOOM_CHECK(!o.user_widths.empty(), "--user-widths needs at least one width");
    for (std::int64_t w : o.user_widths) LOOM_CHECK(w >= 1, "--user-widths must be >= 1, got ", w);
    LOOM_CHECK(o.user_epochs >= 1, "--user-epochs must be >= 1, got ", o.user_epochs);
    LOOM_CHECK(o.user_lr > 0, "--user-lr must be positive, got ", o.user_lr);
    LOOM_CHECK(o.user_batch_size >= 1, "--user-batch-size must be >= 1, got ", o.user_batch_size);
  }
  LOOM_CHECK(user || o.encoder.empty(), "--encoder RUN feeds a user model: give --user-model mean-prob|cnn|knn");
  LOOM_CHECK(user || !o.freeze_encoder, "--freeze-encoder applies to --user-model cnn");
  LOOM_CHECK(user || !o.balance_users, "--balance-users applies to a --user-model");
  LOOM_CHECK(o.encoder.empty() || o.resume.empty(), "--encoder RUN has no tweet stage to resume");
  LOOM_CHECK(o.encoder.empty() || o.cv == 0,
             "--encoder with --cv: one trained tweet model has seen the users of every other fold; run --cv "
             "with the tweet stage (no --encoder)");
}

MetaScaler fit_meta_scaler(const std::vector<data::EncodedExample>& rows) {
  MetaScaler s;
  if (rows.empty() || rows.front().meta.empty()) return s;
  const std::size_t f = rows.front().meta.size();
  std::vector<double> sum(f, 0.0), sq(f, 0.0);
  for (const auto& r : rows) {
    LOOM_CHECK(r.meta.size() == f, "metadata scaler: rows carry ", f, " and ", r.meta.size(), " features");
    for (std::size_t j = 0; j < f; ++j) sum[j] += r.meta[j];
  }
  const double n = static_cast<double>(rows.size());
  for (std::size_t j = 0; j < f; ++j) sum[j] /= n;
  // Two passes (mean first): the centred sum of squares does not cancel for large counts.
  for (const auto& r : rows)
    for (std::size_t j = 0; j < f; ++j) sq[j] += (r.meta[j] - sum[j]) * (r.meta[j] - sum[j]);
  for (std::size_t j = 0; j < f; ++j) {
    const double sd = std::sqrt(sq[j] / n);
    s.mean.push_back(static_cast<float>(sum[j]));
    // A constant training feature carries no information: std 1 only shifts it to 0.
    s.std.push_back(sd > 0 && std::isfinite(sd) && static_cast<float>(sd) > 0 ? static_cast<float>(sd) : 1.0f);
  }
  return s;
}

void apply_meta_encoding(const TrainOptions& o, models::ModelConfig& c) {
  if (c.arch != models::Arch::Hybrid && c.arch != models::Arch::MetaMlp) return;
  c.meta_encoding = o.meta_encoding;
  c.meta_bins = o.meta_bins;
}

std::string fit_meta_encoding(models::Classifier& model, const models::ModelConfig& config, const MetaScaler& scaler,
                              const std::vector<data::EncodedExample>& rows) {
  if (config.meta_encoding != "ple") return "";
  std::vector<std::vector<float>> raw;
  raw.reserve(rows.size());
  for (const auto& r : rows) raw.push_back(r.meta);
  const models::PleBins bins = models::fit_ple_bins(raw, scaler.mean, scaler.std, config.meta_bins);
  if (auto* m = dynamic_cast<models::MetaMlpClassifier*>(&model))
    m->set_meta_encoding(bins.lo, bins.inv_width);
  else if (auto* h = dynamic_cast<models::HybridClassifier*>(&model))
    h->set_meta_encoding(bins.lo, bins.inv_width);
  else
    LOOM_THROW(Error, "--meta-encoding ple: the ", models::arch_name(config.arch), " model has no metadata tower");
  std::int64_t used = 0;
  for (float w : bins.inv_width) used += w != 0.0f;
  std::ostringstream os;
  os << "metadata encoding: piecewise-linear, " << used << " bins over " << scaler.mean.size() << " features (at most "
     << config.meta_bins << " each; quantiles of the training split, "
     << thousands(static_cast<std::int64_t>(rows.size())) << " rows)\n";
  return os.str();
}

std::string describe_scaler(const MetaScaler& s, const std::vector<std::string>& names, std::int64_t rows,
                            std::size_t max_items) {
  std::ostringstream os;
  os << "metadata scaler (mean, population std of the training split, " << thousands(rows) << " rows):";
  for (std::size_t j = 0; j < s.mean.size() && j < max_items; ++j)
    os << (j ? ", " : " ") << (j < names.size() ? names[j] : "f" + std::to_string(j)) << " " << short_num(s.mean[j])
       << "+-" << short_num(s.std[j]);
  if (s.mean.size() > max_items) os << ", ... (" << s.mean.size() << " features)";
  return os.str();
}

void write_features_csv(const std::string& dir, const PreparedData& p, const std::string& group_col) {
  std::ostringstream csv;
  csv << "key,label,split";
  for (const std::string& name : p.meta_schema.feature_names) csv << "," << quote(name);
  csv << "\n";
  auto rows = [&](const std::vector<data::EncodedExample>& r, const std::vector<std::string>& keys,
                  const data::Dataset& d, const char* split) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      // The key: the group's, else the input line (a row identifies itself).
      const std::string key = !group_col.empty() && i < keys.size() ? keys[i] : "line " + std::to_string(d.examples[i].line);
      const int label = r[i].label;
      csv << quote(key) << "," << (label >= 0 ? quote(p.label_names[static_cast<std::size_t>(label)]) : "") << ","
          << split;
      // %.9g: a float's exact round trip, so a baseline reads the very values loom trained on.
      char buf[32];
      for (float v : r[i].meta) {
        std::snprintf(buf, sizeof buf, ",%.9g", v == 0.0f ? 0.0 : static_cast<double>(v));
        csv << buf;
      }
      csv << "\n";
    }
  };
  rows(p.train_rows, p.train_keys, p.train, "train");
  rows(p.val_rows, p.val_keys, p.val, "val");
  rows(p.test_rows, p.test_keys, p.test, "test");
  io::write_file_atomic(dir + "/features.csv", csv.str());
}

void write_splits_csv(const std::string& dir, const PreparedData& p) {
  std::ostringstream csv;
  csv << "key,split\n";
  auto groups = [&](const std::vector<std::string>& keys, const char* split) {
    std::set<std::string> seen;
    for (const std::string& k : keys)
      if (seen.insert(k).second) csv << quote(k) << "," << split << "\n";
  };
  groups(p.train_keys, "train");
  groups(p.val_keys, "val");
  groups(p.test_keys, "test");
  io::write_file_atomic(dir + "/splits.csv", csv.str());
}

std::vector<std::string> read_split_keys(const std::string& dir, const std::string& split) {
  std::vector<std::string> keys;
  const std::string path = dir + "/splits.csv";
  if (!std::filesystem::exists(path)) return keys;
  const data::CsvTable t = data::read_csv(path);
  for (const data::CsvRecord& r : t.records) {
    if (r.fields.size() != 2) LOOM_THROW(DataError, path, ":", r.line, ": expected key,split");
    if (r.fields[1] == split) keys.push_back(r.fields[0]);
  }
  return keys;
}

TrainResult train_user_stage_only(const TrainOptions& given, std::ostream& out) {
  TrainOptions o = given;
  const Device device = resolve_device(o.device, out);
  const Impl impl = resolve_impl(o.impl, o.deterministic, device);
  LoadedRun enc = load_run(o.encoder, device, impl);
  const RunConfig& ec = enc.config;
  // The encoder's text pipeline and model, whatever this command line says: its vocabulary and
  // weights were made for them.
  const TrainOptions& e = ec.training;
  o.tokenizer = e.tokenizer;
  o.normalize = e.normalize;
  o.max_len = ec.max_len;
  o.arch = e.arch;
  o.preset = e.preset;
  o.text_arch = e.text_arch;
  if (ec.metadata.size() > 0 && o.meta_cols.empty()) {  // a metadata-reading encoder needs its features
    o.meta_cols = e.meta_cols;
    o.meta_features = e.meta_features;
    if (o.accounts.empty()) {
      o.accounts = e.accounts;
      o.join_col = e.join_col;
    }
  }
  const std::string dir = o.ckpt_dir.empty() ? default_run_dir("user-" + o.user_model) : o.ckpt_dir;
  if (std::filesystem::exists(dir + "/config.json"))
    LOOM_THROW(Error, dir, " already holds a run; choose another --ckpt-dir");
  out << "encoder: " << o.encoder << " (" << enc.weights_path << ", " << ec.model.summary() << "); no tweet stage\n";
  const PreparedData p = prepare_data(o, &ec.vocab, out, ec.metadata.size() > 0 ? &ec.metadata : nullptr);
  if (p.label_names != ec.label_names)
    LOOM_THROW(Error, o.encoder, ": the encoder was trained on labels ", data::join_names(ec.label_names), " but ",
               o.input, " has ", data::join_names(p.label_names));
  std::filesystem::create_directories(dir);
  // The new run's tweet model is the encoder: its config and weights, so eval and predict load it.
  RunConfig rc = ec;
  rc.training = o;
  rc.training.ckpt_dir = dir;
  rc.group_col = o.group_col;
  rc.weights = "best.safetensors";
  write_run_config(dir, rc);
  save_weights(dir + "/best.safetensors", *enc.model, {{"epoch", "0"}, {"encoder", o.encoder}});
  if (p.meta_schema.size() > 0) write_features_csv(dir, p, o.group_col);
  if (!p.train_keys.empty()) write_splits_csv(dir, p);
  // The encoder's training users must not be this run's test users.
  {
    const std::vector<std::string> seen = read_split_keys(o.encoder, "train");
    const std::set<std::string> seen_set(seen.begin(), seen.end());
    const std::set<std::string> test(p.test_keys.begin(), p.test_keys.end());
    std::int64_t overlap = 0;
    for (const std::string& k : test) overlap += seen_set.count(k) > 0;
    if (overlap > 0)
      out << "warning: " << overlap << " of the " << test.size() << " test users were training users of the encoder "
          << o.encoder << ": its tweet model has seen them, so the user-level test score is optimistic (give the "
          << "encoder run's --seed, --val-split and --test-split)\n";
  }
  TrainResult result;
  result.run_dir = dir;
  result.num_parameters = enc.model->num_parameters();
  result.user = train_user_model(o, *enc.model, p, dir, out);
  return result;
}

}  // namespace loom::train
