// train/cross_validation.cc: the --cv driver (see cross_validation.h).
#include "train/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "train/bot_run.h"
#include "train/checkpoint.h"
#include "train/ensemble.h"
#include "train/runtime.h"

namespace loom::train {
namespace {

const std::vector<std::string> kMetrics{"accuracy", "precision", "recall", "f1", "auc", "pr_auc"};

std::vector<double> values_of(const EvalMetrics& m) {
  std::vector<double> v;
  for (const std::string& name : kMetrics) v.push_back(m.get(name));
  return v;
}

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os << std::fixed << std::setprecision(4) << v;
  return os.str();
}

// JSON has no NaN: an undefined metric (one class in a fold's test split) is written as null.
nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

// A table column: room for "0.1234 +- 0.0123" or the metric's name, two spaces apart.
int width(const std::string& metric) { return static_cast<int>(std::max<std::size_t>(metric.size(), 16) + 2); }

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Fold f's run(s) in fold_dir. Without --seeds one ordinary run; with --seeds one run per seed in
// fold_dir/seed-S, all on the CV seed's folds and validation split (split_seed), and the fold is
// scored by the mean of the members' test probabilities (written to fold_dir/report_test.*).
CvFold run_fold(const TrainOptions& o, int f, const std::string& fold_dir, std::vector<std::string>& test_keys,
                std::ostream& out, std::ostream* bar) {
  TrainOptions fo = o;
  fo.cv_fold = f - 1;
  fo.ckpt_dir = fold_dir;
  CvFold cf;
  cf.fold = f;
  if (o.ensemble_seeds.empty()) {
    const TrainResult tr = train(fo, out, bar);
    LOOM_CHECK(tr.test.has_value(), "cross-validation: fold ", f, " has no test split");
    cf.run_dir = tr.run_dir;
    cf.values = values_of(tr.test->metrics);
    if (!o.user_model.empty()) {
      const std::vector<double> u = tr.user && tr.user->test ? values_of(tr.user->test->metrics)
                                                             : std::vector<double>(kMetrics.size(), std::nan(""));
      cf.values.insert(cf.values.end(), u.begin(), u.end());
    }
    test_keys = read_split_keys(tr.run_dir, "test");
    return cf;
  }
  fo.ensemble_seeds.clear();
  fo.split_seed_set = true;
  fo.split_seed = o.seed;
  std::vector<Scores> scores;
  TrainResult first;
  for (std::size_t i = 0; i < o.ensemble_seeds.size(); ++i) {
    TrainOptions m = fo;
    m.seed = o.ensemble_seeds[i];
    m.ckpt_dir = fold_dir + "/seed-" + std::to_string(m.seed);
    out << "\n-- fold " << f << ", seed " << m.seed << " (" << i + 1 << " of " << o.ensemble_seeds.size()
        << ") -> " << m.ckpt_dir << "\n" << std::flush;
    TrainResult tr = train(m, out, bar);
    LOOM_CHECK(tr.test.has_value(), "cross-validation: fold ", f, " has no test split");
    const std::vector<std::string> keys = read_split_keys(tr.run_dir, "test");
    if (i == 0) {
      test_keys = keys;
    } else {
      // The mean of probabilities is only meaningful row by row over the same rows.
      LOOM_CHECK(keys == test_keys && tr.test_scores.n == first.test_scores.n,
                 "cross-validation: fold ", f, ": seed ", m.seed, " was tested on other users than seed ",
                 o.ensemble_seeds[0], " (", tr.run_dir, "/splits.csv)");
    }
    cf.member_auc.push_back(tr.test->metrics.get("auc"));
    scores.push_back(tr.test_scores);
    if (i == 0) first = std::move(tr);
  }
  const Evaluation ev =
      evaluate(average_scores(scores), first.test_truth, first.test->task, first.label_names, o.threshold);
  nlohmann::json j = ev.json();
  j["combine"] = "mean-probability";
  j["seeds"] = o.ensemble_seeds;
  j["member_auc"] = cf.member_auc;
  io::write_file_atomic(fold_dir + "/report_test.txt", ev.text());
  write_json_file(fold_dir + "/report_test.json", j);
  out << "\nfold " << f << ": the mean probability of " << scores.size() << " seeds: ROC-AUC " << fmt(ev.metrics.auc)
      << " (members:";
  for (double a : cf.member_auc) out << " " << fmt(a);
  out << ")\n" << ev.text() << std::flush;
  cf.run_dir = fold_dir;
  cf.values = values_of(ev.metrics);
  return cf;
}

}  // namespace

CvResult cross_validate(const TrainOptions& o, std::ostream& out, std::ostream* bar) {
  LOOM_CHECK(o.cv >= 2, "--cv K needs K >= 2 folds, got ", o.cv);
  LOOM_CHECK(o.cv_fold < 0, "cross_validate: cv_fold is set by the driver, not by the caller");
  LOOM_CHECK(o.resume.empty(), "--cv with --resume: resume one fold's folder (RUN/fold-F) instead");
  const bool user = !o.user_model.empty();
  LOOM_CHECK(o.ensemble_seeds.empty() || !user,
             "--cv with --seeds averages each fold's tweet probabilities; a --user-model is not supported there");
  for (std::size_t i = 0; i < o.ensemble_seeds.size(); ++i)  // before any training: a typo costs nothing
    LOOM_CHECK(std::count(o.ensemble_seeds.begin(), o.ensemble_seeds.end(), o.ensemble_seeds[i]) == 1,
               "--seeds lists seed ", o.ensemble_seeds[i], " twice");
  CvResult r;
  r.run_dir = o.ckpt_dir.empty() ? default_run_dir(o.arch + "-cv") : o.ckpt_dir;
  if (std::filesystem::exists(r.run_dir + "/cv_summary.json"))
    LOOM_THROW(Error, r.run_dir, " already holds a cross-validation; choose another --ckpt-dir");
  r.metrics = kMetrics;
  if (user)
    for (const std::string& m : kMetrics) r.metrics.push_back("user_" + m);

  std::ostringstream folds_csv;
  folds_csv << "key,fold\n";
  for (int f = 1; f <= o.cv; ++f) {
    const std::string fold_dir = r.run_dir + "/fold-" + std::to_string(f);
    out << "\n==== fold " << f << " of " << o.cv << " -> " << fold_dir << " ====\n" << std::flush;
    std::vector<std::string> test_keys;
    r.folds.push_back(run_fold(o, f, fold_dir, test_keys, out, bar));
    for (const std::string& key : test_keys) folds_csv << quote(key) << "," << f << "\n";
  }

  // Mean and sample std (ddof 1) per metric, over the folds where it is defined.
  for (std::size_t m = 0; m < r.metrics.size(); ++m) {
    double sum = 0;
    int n = 0;
    for (const CvFold& f : r.folds)
      if (!std::isnan(f.values[m])) sum += f.values[m], ++n;
    const double mean = n ? sum / n : std::nan("");
    double sq = 0;
    for (const CvFold& f : r.folds)
      if (!std::isnan(f.values[m])) sq += (f.values[m] - mean) * (f.values[m] - mean);
    r.mean.push_back(mean);
    r.std.push_back(n >= 2 ? std::sqrt(sq / (n - 1)) : std::nan(""));
  }

  // The table: one row per fold, then mean +- std.
  std::ostringstream table, csv;
  table << "\ncross-validation: " << o.cv << " grouped stratified folds (seed " << o.seed << "), test-split metrics\n";
  table << std::left << std::setw(10) << "fold";
  csv << "fold";
  for (const std::string& m : r.metrics) {
    table << std::right << std::setw(width(m)) << m;
    csv << "," << m;
  }
  table << "\n";
  csv << "\n";
  for (const CvFold& f : r.folds) {
    table << std::left << std::setw(10) << f.fold;
    csv << f.fold;
    for (std::size_t m = 0; m < r.metrics.size(); ++m) {
      table << std::right << std::setw(width(r.metrics[m])) << fmt(f.values[m]);
      csv << "," << fmt(f.values[m]);
    }
    table << "\n";
    csv << "\n";
  }
  table << std::left << std::setw(10) << "mean+-sd";
  for (std::size_t m = 0; m < r.metrics.size(); ++m)
    table << std::right << std::setw(width(r.metrics[m]))
          << fmt(r.mean[m]) + " +- " + fmt(r.std[m]);
  table << "\n(sd: sample standard deviation over the folds, ddof 1)\n";
  csv << "mean";
  for (double v : r.mean) csv << "," << fmt(v);
  csv << "\nstd";
  for (double v : r.std) csv << "," << fmt(v);
  csv << "\n";
  out << table.str();

  nlohmann::json j;
  j["k"] = o.cv;
  j["seed"] = o.seed;
  if (!o.ensemble_seeds.empty()) j["seeds"] = o.ensemble_seeds;  // each fold: the mean of these seeds' runs
  j["std_kind"] = "sample standard deviation over the folds (ddof 1)";
  j["metrics"] = r.metrics;
  for (const CvFold& f : r.folds) {
    nlohmann::json fj{{"fold", f.fold}, {"run_dir", f.run_dir}};
    if (!f.member_auc.empty()) fj["member_auc"] = f.member_auc;
    for (std::size_t m = 0; m < r.metrics.size(); ++m) fj[r.metrics[m]] = num(f.values[m]);
    j["folds"].push_back(fj);
  }
  for (std::size_t m = 0; m < r.metrics.size(); ++m) {
    j["mean"][r.metrics[m]] = num(r.mean[m]);
    j["std"][r.metrics[m]] = num(r.std[m]);
  }
  j["training"] = to_json(o);
  std::filesystem::create_directories(r.run_dir);
  io::write_file_atomic(r.run_dir + "/folds.csv", folds_csv.str());
  io::write_file_atomic(r.run_dir + "/cv_summary.csv", csv.str());
  write_json_file(r.run_dir + "/cv_summary.json", j);
  out << "cross-validation summary: " << r.run_dir << "/cv_summary.csv, cv_summary.json, folds.csv\n" << std::flush;
  return r;
}

}  // namespace loom::train
