// train/compare.cc: the `loom compare` protocol (see compare.h): balanced draws, one training per
// (architecture, draw) through train::train (as cross_validation.cc runs its folds), and the paired
// statistics, table, JSON, Markdown and dot plot.
#include "train/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "data/batching.h"
#include "io/atomic_file.h"
#include "metrics/stats.h"
#include "models/model_config.h"
#include "train/checkpoint.h"
#include "train/plot.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace loom::train {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kDomainCompare = 0x434D5052;  // "CMPR": the draws' Philox counter word 3

// Equal shares of `total` over classes with room caps[c] (water-filling): every class gets
// total / K, a class that cannot take its share gives the rest to the others equally.
std::vector<std::int64_t> water_fill(std::int64_t total, const std::vector<std::int64_t>& caps) {
  std::vector<std::int64_t> got(caps.size(), 0);
  std::int64_t left = total;
  while (left > 0) {
    std::vector<std::size_t> open;
    for (std::size_t c = 0; c < caps.size(); ++c)
      if (got[c] < caps[c]) open.push_back(c);
    if (open.empty()) break;  // the caller checked the total fits; nothing else to give
    const std::int64_t share = left / static_cast<std::int64_t>(open.size());
    const std::int64_t extra = left % static_cast<std::int64_t>(open.size());
    for (std::size_t i = 0; i < open.size(); ++i) {
      const std::size_t c = open[i];
      const std::int64_t want = share + (static_cast<std::int64_t>(i) < extra ? 1 : 0);
      const std::int64_t take = std::min(want, caps[c] - got[c]);
      got[c] += take;
      left -= take;
    }
  }
  return got;
}

std::string fmt(double v, int digits = 4) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

std::string signed_fmt(double v) { return (v >= 0 ? "+" : "") + fmt(v); }

std::string p_fmt(double p) {
  std::ostringstream os;
  os << std::setprecision(3) << p;
  return os.str();
}

nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// A draw's part as a plain text,label CSV (labels by name, so they load back as the same classes).
void write_part(const std::string& path, const data::Dataset& d, const std::vector<std::int64_t>& rows) {
  std::ostringstream os;
  os << "text,label\n";
  for (std::int64_t r : rows) {
    const data::Example& e = d.examples[static_cast<std::size_t>(r)];
    os << quote(e.text) << "," << quote(d.label_names[static_cast<std::size_t>(e.label)]) << "\n";
  }
  io::write_file_atomic(path, os.str());
}

std::vector<double> metric_values(const EvalMetrics& m) { return {m.accuracy, m.macro_f1, m.auc}; }

// One ASCII line per architecture on a shared axis: each draw's value as 'o' (a digit when several
// fall in one column), the mean as '|'.
std::string dot_plot(const std::string& metric, const std::vector<std::string>& archs,
                     const std::vector<std::vector<double>>& values) {
  const int width = 60;
  double lo = 1e300, hi = -1e300;
  for (const auto& row : values)
    for (double v : row)
      if (!std::isnan(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) return metric + ": no values\n";
  if (hi - lo < 1e-9) hi = lo + 1e-3;  // one value everywhere: give the axis some width
  std::size_t name_w = 6;
  for (const std::string& a : archs) name_w = std::max(name_w, a.size());
  auto col = [&](double v) { return static_cast<int>(std::lround((v - lo) / (hi - lo) * (width - 1))); };
  std::ostringstream os;
  os << metric << " per draw (o: one draw, digit: that many draws in a column, |: mean)\n";
  for (std::size_t a = 0; a < archs.size(); ++a) {
    std::vector<int> count(width, 0);
    for (double v : values[a])
      if (!std::isnan(v)) ++count[static_cast<std::size_t>(col(v))];
    std::string line(width, ' ');
    for (int c = 0; c < width; ++c)
      if (count[static_cast<std::size_t>(c)] == 1) line[static_cast<std::size_t>(c)] = 'o';
      else if (count[static_cast<std::size_t>(c)] > 1)
        line[static_cast<std::size_t>(c)] = static_cast<char>('0' + std::min(9, count[static_cast<std::size_t>(c)]));
    const double m = metrics::mean(values[a]);
    if (!std::isnan(m) && line[static_cast<std::size_t>(col(m))] == ' ') line[static_cast<std::size_t>(col(m))] = '|';
    os << "  " << std::left << std::setw(static_cast<int>(name_w)) << archs[a] << " [" << line << "]\n";
  }
  os << "  " << std::string(name_w, ' ') << "  " << std::left << std::setw(width - 6) << fmt(lo) << fmt(hi) << "\n";
  return os.str();
}

// dots.png with gnuplot when it is on PATH; returns a note for the log either way.
std::string gnuplot_dots(const std::string& dir, const std::vector<std::string>& archs,
                         const std::vector<std::vector<double>>& acc) {
  const std::string gp = find_on_path("gnuplot");
  if (gp.empty()) return "no gnuplot on PATH: dots.png skipped (dots.txt has the ASCII plot)";
  std::ostringstream data;
  for (std::size_t a = 0; a < archs.size(); ++a)
    for (double v : acc[a])
      if (!std::isnan(v)) data << a << " " << v << "\n";
  io::write_file_atomic(dir + "/dots.dat", data.str());
  std::ostringstream script;
  script << "set terminal pngcairo size 800,500\nset output '" << dir << "/dots.png'\n"
         << "set ylabel 'test accuracy'\nset xrange [-0.5:" << archs.size() - 0.5 << "]\nset xtics (";
  for (std::size_t a = 0; a < archs.size(); ++a) script << (a ? ", " : "") << "'" << archs[a] << "' " << a;
  script << ")\nunset key\nplot '" << dir << "/dots.dat' using 1:2 with points pt 7 ps 1.2\n";
  io::write_file_atomic(dir + "/dots.gp", script.str());
  const std::string cmd = "'" + gp + "' '" + dir + "/dots.gp' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return "gnuplot failed: dots.png skipped (dots.txt has the ASCII plot)";
  return "plot: " + dir + "/dots.png";
}

}  // namespace

const std::vector<std::string>& compare_metrics() {
  static const std::vector<std::string> names{"accuracy", "f1_macro", "roc_auc"};
  return names;
}

std::vector<Draw> balanced_draws(const data::Dataset& data, int draws, std::int64_t train_rows,
                                 std::int64_t test_rows, std::uint64_t seed) {
  LOOM_CHECK(draws >= 1, "--draws must be >= 1, got ", draws);
  LOOM_CHECK(train_rows >= 1 && test_rows >= 1, "--train and --test must be >= 1, got ", train_rows, " and ",
             test_rows);
  LOOM_CHECK(data.task != data::TaskKind::MultiLabel, "loom compare: multi-label data is not supported");
  const std::size_t k = data.label_names.size();
  std::vector<std::vector<std::int64_t>> by_class(k);
  for (std::size_t i = 0; i < data.examples.size(); ++i) {
    const int label = data.examples[i].label;
    if (label >= 0) by_class[static_cast<std::size_t>(label)].push_back(static_cast<std::int64_t>(i));
  }
  std::vector<std::int64_t> have(k);
  std::int64_t total = 0;
  for (std::size_t c = 0; c < k; ++c) total += have[c] = static_cast<std::int64_t>(by_class[c].size());
  LOOM_CHECK(train_rows + test_rows <= total, "--train ", train_rows, " + --test ", test_rows,
             " is more than the ", total, " labeled rows of --input");
  // The same counts for every draw: the test part first (so it is the balanced one), then train.
  const std::vector<std::int64_t> test_q = water_fill(test_rows, have);
  std::vector<std::int64_t> room(k);
  for (std::size_t c = 0; c < k; ++c) room[c] = have[c] - test_q[c];
  const std::vector<std::int64_t> train_q = water_fill(train_rows, room);

  std::vector<Draw> out(static_cast<std::size_t>(draws));
  for (int d = 1; d <= draws; ++d) {
    Draw& dr = out[static_cast<std::size_t>(d - 1)];
    for (std::size_t c = 0; c < k; ++c) {
      std::vector<std::int64_t> rows = by_class[c];
      const auto word2 = static_cast<std::uint32_t>(d) * 65536u + static_cast<std::uint32_t>(c);
      // A partial Fisher-Yates: only the first test + train positions are needed.
      const std::size_t need = static_cast<std::size_t>(test_q[c] + train_q[c]);
      for (std::size_t i = 0; i < need && i + 1 < rows.size(); ++i) {
        const auto j = i + static_cast<std::size_t>(data::draw_below(rows.size() - i, seed, i, word2, kDomainCompare));
        std::swap(rows[i], rows[j]);
      }
      dr.test.insert(dr.test.end(), rows.begin(), rows.begin() + test_q[c]);
      dr.train.insert(dr.train.end(), rows.begin() + test_q[c], rows.begin() + static_cast<std::ptrdiff_t>(need));
    }
    std::sort(dr.train.begin(), dr.train.end());
    std::sort(dr.test.begin(), dr.test.end());
    dr.train_per_class = train_q;
    dr.test_per_class = test_q;
  }
  return out;
}

CompareResult run_compare(const CompareOptions& o, std::ostream& out) {
  const TrainOptions& b = o.base;
  LOOM_CHECK(!b.input.empty(), "loom compare: --input FILE is required");
  LOOM_CHECK(fs::exists(b.input), "--input ", b.input, ": no such file");
  LOOM_CHECK(o.archs.size() >= 2, "--archs needs at least two architectures to compare, got ", o.archs.size());
  for (const std::string& a : o.archs) {
    try {
      LOOM_CHECK(models::is_text_arch(models::parse_arch(a)), "--archs: ", a,
                 " reads account metadata; compare takes text architectures only");
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("--archs", 0) == 0) throw;
      LOOM_THROW(Error, "--archs: unknown architecture '", a, "' (bow, cnn, lstm, bilstm, cnn-lstm, lstm-cnn)");
    }
    LOOM_CHECK(std::count(o.archs.begin(), o.archs.end(), a) == 1, "--archs: ", a, " is listed twice");
  }
  LOOM_CHECK(o.draws >= 2, "--draws must be >= 2 (a spread needs two draws), got ", o.draws);
  LOOM_CHECK(b.epochs >= 1, "--epochs must be >= 1, got ", b.epochs);
  LOOM_CHECK(b.label_cols.empty(), "loom compare: multi-label (--label-cols) is not supported");

  CompareResult r;
  r.archs = o.archs;
  r.out_dir = o.out_dir.empty() ? default_run_dir("compare") : o.out_dir;
  fs::create_directories(r.out_dir + "/draws");

  data::DatasetSpec spec;
  spec.path = b.input;
  spec.format = data::parse_input_format(b.format);
  spec.encoding = data::parse_text_encoding(b.encoding);
  spec.text_col = b.text_col;
  spec.label_col = b.label_col;
  spec.on_bad_row = data::parse_bad_row_policy(b.on_bad_row);
  const data::Dataset data = data::load_dataset(spec);
  const std::vector<Draw> draws = balanced_draws(data, o.draws, o.train_rows, o.test_rows, b.seed);

  out << "loom compare: " << o.archs.size() << " architectures x " << o.draws << " balanced draws of "
      << b.input << " (" << data.examples.size() << " rows), " << o.train_rows << " train / " << o.test_rows
      << " test each, " << b.epochs << " epochs, seed " << b.seed << " -> " << r.out_dir << "\n";
  out << "per class (" << [&] {
    std::string s;
    for (std::size_t c = 0; c < data.label_names.size(); ++c) s += (c ? ", " : "") + data.label_names[c];
    return s;
  }() << "): train";
  for (std::int64_t n : draws[0].train_per_class) out << " " << n;
  out << ", test";
  for (std::int64_t n : draws[0].test_per_class) out << " " << n;
  bool balanced = true;
  for (std::size_t c = 1; c < draws[0].train_per_class.size(); ++c)
    balanced = balanced && std::llabs(draws[0].train_per_class[c] - draws[0].train_per_class[0]) <= 1 &&
               std::llabs(draws[0].test_per_class[c] - draws[0].test_per_class[0]) <= 1;
  out << (balanced ? "\n" : "  (NOT balanced: a class is short; the others filled the gap)\n") << std::flush;

  for (int d = 1; d <= o.draws; ++d) {
    const std::string dir = r.out_dir + "/draws/draw-" + std::to_string(d);
    fs::create_directories(dir);
    write_part(dir + "/train.csv", data, draws[static_cast<std::size_t>(d - 1)].train);
    write_part(dir + "/test.csv", data, draws[static_cast<std::size_t>(d - 1)].test);
  }

  // Every (arch, draw): reuse a finished folder, else (re)train it.
  const std::size_t nm = compare_metrics().size();
  std::vector<nlohmann::json> runs;
  r.values.assign(o.archs.size(), std::vector<std::vector<double>>(static_cast<std::size_t>(o.draws)));
  for (std::size_t a = 0; a < o.archs.size(); ++a) {
    for (int d = 1; d <= o.draws; ++d) {
      const std::string run_dir = r.out_dir + "/" + o.archs[a] + "/draw-" + std::to_string(d);
      const std::string result_file = run_dir + "/compare_result.json";
      std::vector<double>& v = r.values[a][static_cast<std::size_t>(d - 1)];
      nlohmann::json rj;
      if (fs::exists(result_file)) {
        std::ifstream in(result_file);
        rj = nlohmann::json::parse(in, nullptr, false);
        if (!rj.is_discarded() && rj.contains("accuracy")) {
          for (const std::string& m : compare_metrics())
            v.push_back(rj[m].is_null() ? std::nan("") : rj[m].get<double>());
          out << "[" << o.archs[a] << " draw " << d << "] finished earlier: " << result_file << "\n";
          runs.push_back(rj);
          continue;
        }
      }
      if (fs::exists(run_dir)) {
        out << "[" << o.archs[a] << " draw " << d << "] unfinished folder, training again: " << run_dir << "\n";
        fs::remove_all(run_dir);
      }
      TrainOptions t = b;
      t.arch = o.archs[a];
      t.input = r.out_dir + "/draws/draw-" + std::to_string(d) + "/train.csv";
      t.test_path = r.out_dir + "/draws/draw-" + std::to_string(d) + "/test.csv";
      t.format = "csv";
      t.encoding = "utf-8";
      t.text_col = "text";
      t.label_col = "label";
      t.id_cols.clear();
      t.seed = b.seed + static_cast<std::uint64_t>(d);
      t.ckpt_dir = run_dir;
      out << "\n==== " << o.archs[a] << ", draw " << d << " of " << o.draws << " -> " << run_dir << " ====\n"
          << std::flush;
      std::ostringstream log;  // the run's own log stays in its folder (train.log); ours stays short
      const auto t0 = std::chrono::steady_clock::now();
      const TrainResult tr = train(t, log, nullptr);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      LOOM_CHECK(tr.test.has_value(), "loom compare: the run in ", run_dir, " has no test result");
      v = metric_values(tr.test->metrics);
      rj = nlohmann::json{{"arch", o.archs[a]}, {"draw", d}, {"run_dir", run_dir}, {"seconds", seconds},
                          {"epochs_done", tr.epochs_done}, {"best_epoch", tr.best_epoch}};
      for (std::size_t m = 0; m < nm; ++m) rj[compare_metrics()[m]] = num(v[m]);
      io::write_file_atomic(run_dir + "/train.log", log.str());
      write_json_file(result_file, rj);
      out << "  accuracy " << fmt(v[0]) << "  f1_macro " << fmt(v[1]) << "  roc_auc " << fmt(v[2]) << "  ("
          << fmt(seconds, 1) << " s, best epoch " << tr.best_epoch << ")\n" << std::flush;
      runs.push_back(rj);
    }
  }

  // Per architecture: mean +- sample std over the draws.
  auto column = [&](std::size_t a, std::size_t m) {
    std::vector<double> c;
    for (const auto& dv : r.values[a]) c.push_back(dv[m]);
    return c;
  };
  r.mean.assign(o.archs.size(), {});
  r.std.assign(o.archs.size(), {});
  for (std::size_t a = 0; a < o.archs.size(); ++a)
    for (std::size_t m = 0; m < nm; ++m) {
      r.mean[a].push_back(metrics::mean(column(a, m)));
      r.std[a].push_back(metrics::sample_std(column(a, m)));
    }
  // Pairs: paired differences over the same draws. Each (pair, metric) gets its own bootstrap
  // stream (seed + index), so adding an architecture does not change the other pairs' intervals
  // more than their position in the list does.
  std::uint64_t stream = 0;
  for (std::size_t i = 0; i < o.archs.size(); ++i)
    for (std::size_t j = i + 1; j < o.archs.size(); ++j)
      for (std::size_t m = 0; m < nm; ++m, ++stream) {
        PairResult p;
        p.a = o.archs[i];
        p.b = o.archs[j];
        p.metric = compare_metrics()[m];
        const std::vector<double> x = column(i, m), y = column(j, m);
        for (std::size_t d = 0; d < x.size(); ++d) p.differences.push_back(x[d] - y[d]);
        p.mean_diff = metrics::mean(p.differences);
        const metrics::Interval ci =
            metrics::bootstrap_mean_ci(p.differences, o.resamples, o.level, b.seed * 1000003ULL + stream);
        p.ci_low = ci.low;
        p.ci_high = ci.high;
        const metrics::SignTest st = metrics::sign_test(p.differences);
        p.wins = st.positive;
        p.losses = st.negative;
        p.ties = st.ties;
        p.sign_p = st.p;
        r.pairs.push_back(p);
      }

  // The terminal table (also the Markdown's content, in Markdown form).
  std::size_t name_w = 12;
  for (const std::string& a : o.archs) name_w = std::max(name_w, a.size() + 2);
  std::ostringstream t, md;
  const int lvl = static_cast<int>(std::lround(o.level * 100));
  t << "\nper architecture: mean +- sd over " << o.draws << " draws (sd: sample standard deviation, ddof 1)\n";
  t << std::left << std::setw(static_cast<int>(name_w)) << "arch";
  md << "| arch |";
  for (const std::string& m : compare_metrics()) t << std::setw(20) << m, md << " " << m << " |";
  t << "\n";
  md << "\n|---|---|---|---|\n";
  for (std::size_t a = 0; a < o.archs.size(); ++a) {
    t << std::left << std::setw(static_cast<int>(name_w)) << o.archs[a];
    md << "| " << o.archs[a] << " |";
    for (std::size_t m = 0; m < nm; ++m) {
      const std::string cell = fmt(r.mean[a][m]) + " +- " + fmt(r.std[a][m]);
      t << std::setw(20) << cell;
      md << " " << fmt(r.mean[a][m]) << " ± " << fmt(r.std[a][m]) << " |";
    }
    t << "\n";
    md << "\n";
  }
  t << "\npaired differences A - B over the same draws: mean, " << lvl << "% bootstrap percentile interval ("
    << o.resamples << " resamples of the draws), wins/losses/ties of A, exact two-sided sign test p (ties dropped)\n";
  md << "\nPaired differences A − B over the same draws: mean, " << lvl << "% bootstrap percentile interval ("
     << o.resamples << " resamples of the draws), wins/losses/ties of A, exact two-sided sign-test p (ties dropped).\n\n"
     << "| A − B | metric | mean diff | " << lvl << "% CI | W/L/T | sign p |\n|---|---|---|---|---|---|\n";
  for (const PairResult& p : r.pairs) {
    const std::string pair = p.a + " - " + p.b;
    t << "  " << std::left << std::setw(static_cast<int>(2 * name_w)) << pair << std::setw(10) << p.metric
      << std::right << std::setw(8) << signed_fmt(p.mean_diff) << "  [" << signed_fmt(p.ci_low) << ", "
      << signed_fmt(p.ci_high) << "]  " << p.wins << "/" << p.losses << "/" << p.ties << "  p=" << p_fmt(p.sign_p)
      << "\n";
    md << "| " << p.a << " − " << p.b << " | " << p.metric << " | " << signed_fmt(p.mean_diff) << " | ["
       << signed_fmt(p.ci_low) << ", " << signed_fmt(p.ci_high) << "] | " << p.wins << "/" << p.losses << "/"
       << p.ties << " | " << p_fmt(p.sign_p) << " |\n";
  }
  t << "(with " << o.draws << " draws the smallest possible sign-test p is " << p_fmt(std::ldexp(2.0, -o.draws))
    << ")\n";
  std::string dots;
  for (std::size_t m = 0; m < nm; ++m) {
    std::vector<std::vector<double>> per_arch;
    for (std::size_t a = 0; a < o.archs.size(); ++a) per_arch.push_back(column(a, m));
    dots += "\n" + dot_plot(compare_metrics()[m], o.archs, per_arch);
  }
  t << dots;
  std::vector<std::vector<double>> acc;
  for (std::size_t a = 0; a < o.archs.size(); ++a) acc.push_back(column(a, 0));
  io::write_file_atomic(r.out_dir + "/dots.txt", dots);
  const std::string plot_note =
      o.plot_png ? gnuplot_dots(r.out_dir, o.archs, acc) : std::string("dots.png not requested");
  t << plot_note << "\n";
  r.table = t.str();
  out << r.table;

  // JSON: settings, the draws' class counts, every run, the summary and the pairs.
  nlohmann::json j;
  j["input"] = b.input;
  j["archs"] = o.archs;
  j["draws"] = o.draws;
  j["train_rows"] = o.train_rows;
  j["test_rows"] = o.test_rows;
  j["epochs"] = b.epochs;
  j["seed"] = b.seed;
  j["bootstrap"] = {{"resamples", o.resamples}, {"level", o.level}, {"method", "percentile, resampling draws"}};
  j["std_kind"] = "sample standard deviation over draws (ddof 1)";
  j["sign_test"] = "exact two-sided binomial sign test, ties dropped";
  j["metrics"] = compare_metrics();
  j["label_names"] = data.label_names;
  j["per_class"] = {{"train", draws[0].train_per_class}, {"test", draws[0].test_per_class}};
  j["runs"] = runs;
  for (std::size_t a = 0; a < o.archs.size(); ++a)
    for (std::size_t m = 0; m < nm; ++m) {
      nlohmann::json vals = nlohmann::json::array();
      for (double v : column(a, m)) vals.push_back(num(v));
      j["summary"][o.archs[a]][compare_metrics()[m]] = {
          {"mean", num(r.mean[a][m])}, {"std", num(r.std[a][m])}, {"values", vals}};
    }
  j["pairs"] = nlohmann::json::array();
  for (const PairResult& p : r.pairs) {
    nlohmann::json diffs = nlohmann::json::array();
    for (double v : p.differences) diffs.push_back(num(v));
    j["pairs"].push_back({{"a", p.a}, {"b", p.b}, {"metric", p.metric}, {"mean_diff", num(p.mean_diff)},
                          {"ci_low", num(p.ci_low)}, {"ci_high", num(p.ci_high)}, {"wins", p.wins},
                          {"losses", p.losses}, {"ties", p.ties}, {"sign_p", p.sign_p}, {"differences", diffs}});
  }
  j["training"] = to_json(b);
  write_json_file(r.out_dir + "/compare.json", j);
  if (!o.json_path.empty()) write_json_file(o.json_path, j);
  std::ostringstream mdf;
  mdf << "# loom compare: " << b.input << "\n\n" << o.archs.size() << " architectures × " << o.draws
      << " balanced random draws (" << o.train_rows << " train / " << o.test_rows << " test, disjoint), "
      << b.epochs << " epochs, seed " << b.seed << ". Mean ± sample sd (ddof 1) over draws.\n\n"
      << md.str() << "\n```\n" << dots << "```\n";
  io::write_file_atomic(r.out_dir + "/compare.md", mdf.str());
  if (!o.markdown_path.empty()) io::write_file_atomic(o.markdown_path, mdf.str());
  out << "results: " << r.out_dir << "/compare.json, compare.md, dots.txt"
      << (o.json_path.empty() ? "" : ", " + o.json_path) << (o.markdown_path.empty() ? "" : ", " + o.markdown_path)
      << "\n(an interrupted compare resumes: run the same command again; finished runs are kept)\n";
  return r;
}

}  // namespace loom::train
